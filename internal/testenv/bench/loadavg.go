package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// loadAverage reads the one-minute load average of the machine, so that
// the tables can say how busy it was: the benchmark shares the machine with
// whatever else runs on it, and timings suffer when it is busy.
func loadAverage() (float64, bool) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	return parseLoadAverage(string(data))
}

// parseLoadAverage takes the first field of /proc/loadavg.
func parseLoadAverage(s string) (float64, bool) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return v, err == nil
}

// loadNote summarizes the load averages seen before the swaps.
func loadNote(values []float64, cpus int) string {
	s := spreadOf(values)
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("machine busy-ness: 1-minute load average before each swap %.1f median (%.1f–%.1f) on %d CPUs; anything above %d means other processes competed with the swap for CPU", s.Median, s.Min, s.Max, cpus, cpus)
}
