package timeline

import (
	"math"
	"strconv"
)

// niceStep returns a step of 1, 2 or 5 times a power of ten such that
// span/step is at most maxTicks, so that axis labels are round numbers.
func niceStep(span float64, maxTicks int) float64 {
	if span <= 0 || maxTicks < 1 {
		return 1
	}
	raw := span / float64(maxTicks)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step := m * pow; step >= raw {
			return step
		}
	}
	return 10 * pow
}

// ticks returns the multiples of step from 0 up to and including max.
func ticks(max, step float64) []float64 {
	if step <= 0 {
		return nil
	}
	var out []float64
	// The small epsilon keeps max itself when it is a multiple of step
	// but float arithmetic lands just above it.
	for i := 0; ; i++ {
		v := float64(i) * step
		if v > max+step*1e-9 {
			break
		}
		out = append(out, v)
	}
	return out
}

// niceCeil rounds a bar height up to a multiple of a nice step, so that the
// y axis ends on a labelled tick; it is at least 1.
func niceCeil(max int, maxTicks int) (top float64, step float64) {
	if max < 1 {
		max = 1
	}
	step = niceStep(float64(max), maxTicks)
	if step < 1 {
		step = 1
	}
	top = math.Ceil(float64(max)/step) * step
	return top, step
}

// formatNumber prints a tick value without trailing zeros ("0.5", "2").
func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// formatTick prints a multiple of step with as many decimals as step has,
// so that float error (0.6000000000000001) never reaches a label.
func formatTick(v, step float64) string {
	decimals := 0
	if step > 0 && step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}
