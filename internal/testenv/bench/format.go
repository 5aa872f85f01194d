package bench

import (
	"fmt"
	"math"
	"time"
)

// fmtSeconds prints a duration given in seconds: milliseconds below one
// second, seconds with two decimals above.
func fmtSeconds(s float64) string {
	d := time.Duration(math.Round(s * float64(time.Second)))
	abs := d
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs == 0:
		return "0"
	case abs < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", s*1000)
	case abs < time.Second:
		return fmt.Sprintf("%.0fms", s*1000)
	default:
		return fmt.Sprintf("%.2fs", s)
	}
}

// fmtCount prints a count, with one decimal when it is a median of an
// even number of swaps.
func fmtCount(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// fmtMB prints bytes as MB (10^6).
func fmtMB(v float64) string {
	return fmt.Sprintf("%.1f MB", v/1e6)
}

// rangeOf prints "min–max" with f.
func rangeOf(s Spread, f func(float64) string) string {
	if s.N == 0 {
		return "n/a"
	}
	return f(s.Min) + "–" + f(s.Max)
}

// medianOf prints the median with f, or n/a.
func medianOf(s Spread, f func(float64) string) string {
	if s.N == 0 {
		return "n/a"
	}
	return f(s.Median)
}

// verdict prints whether a target was met. The benchmark shows targets
// next to the measurements; it does not fail on them.
func verdict(ok, known bool) string {
	switch {
	case !known:
		return "n/a"
	case ok:
		return "met"
	default:
		return "MISSED"
	}
}
