package loadgen

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Percentiles summarizes a latency distribution.
type Percentiles struct {
	P50, P99, Max time.Duration
}

// String renders the percentiles with units chosen for reading.
func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %s p99 %s max %s", round(p.P50), round(p.P99), round(p.Max))
}

// round trims durations to three significant-ish digits for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// LatencyOf returns the nearest-rank percentiles of End-Start over results
// (all of them, failed ones included: a fast error is still a latency the
// client saw). It is zero for no results.
func LatencyOf(results []Result) Percentiles {
	if len(results) == 0 {
		return Percentiles{}
	}
	lat := make([]time.Duration, len(results))
	for i, r := range results {
		lat[i] = r.Latency()
	}
	slices.Sort(lat)
	return Percentiles{
		P50: nearestRank(lat, 0.50),
		P99: nearestRank(lat, 0.99),
		Max: lat[len(lat)-1],
	}
}

// nearestRank returns the smallest value with at least p of the sorted
// values at or below it.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
