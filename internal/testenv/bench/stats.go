package bench

import (
	"slices"
	"time"
)

// Spread is the middle and the range of one measurement over the swaps of
// a run. N is how many swaps had a value: some measurements (the first
// answer of the new version, dswap's resource use) can be missing.
type Spread struct {
	N                int
	Median, Min, Max float64
	Sum              float64
}

// spreadOf summarizes values. The median of an even count is the mean of
// the two middle values.
func spreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	s := Spread{N: len(sorted), Min: sorted[0], Max: sorted[len(sorted)-1]}
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		s.Median = sorted[mid]
	} else {
		s.Median = (sorted[mid-1] + sorted[mid]) / 2
	}
	for _, v := range sorted {
		s.Sum += v
	}
	return s
}

// durationSpread summarizes durations in seconds.
func durationSpread(values []time.Duration) Spread {
	secs := make([]float64, len(values))
	for i, d := range values {
		secs[i] = d.Seconds()
	}
	return spreadOf(secs)
}

// intSpread summarizes counts.
func intSpread(values []int) Spread {
	f := make([]float64, len(values))
	for i, v := range values {
		f[i] = float64(v)
	}
	return spreadOf(f)
}

// medianIndex returns the index of the value that is the (lower) median
// of values, so that one representative swap can be drawn; -1 when empty.
func medianIndex(values []time.Duration) int {
	if len(values) == 0 {
		return -1
	}
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case values[a] < values[b]:
			return -1
		case values[a] > values[b]:
			return 1
		}
		return 0
	})
	return idx[(len(idx)-1)/2]
}
