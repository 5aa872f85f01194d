package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Spread
	}{
		{name: "empty", in: nil, want: Spread{}},
		{name: "one", in: []float64{3}, want: Spread{N: 1, Median: 3, Min: 3, Max: 3, Sum: 3}},
		{name: "odd, unsorted", in: []float64{5, 1, 3}, want: Spread{N: 3, Median: 3, Min: 1, Max: 5, Sum: 9}},
		{name: "even: mean of the middle two", in: []float64{4, 1, 2, 10}, want: Spread{N: 4, Median: 3, Min: 1, Max: 10, Sum: 17}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			assert.Equal(t, tt.want, spreadOf(in))
			assert.Equal(t, tt.in, in, "the input is not reordered")
		})
	}
}

func TestDurationAndIntSpread(t *testing.T) {
	s := durationSpread([]time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond})
	assert.InDelta(t, 0.2, s.Median, 1e-9)
	assert.InDelta(t, 0.1, s.Min, 1e-9)
	assert.InDelta(t, 0.3, s.Max, 1e-9)
	assert.Equal(t, Spread{N: 2, Median: 1, Min: 0, Max: 2, Sum: 2}, intSpread([]int{2, 0}))
}

func TestMedianIndex(t *testing.T) {
	assert.Equal(t, -1, medianIndex(nil))
	assert.Equal(t, 0, medianIndex([]time.Duration{7}))
	assert.Equal(t, 2, medianIndex([]time.Duration{30, 10, 20}), "index of the middle value, not its rank")
	assert.Equal(t, 1, medianIndex([]time.Duration{40, 20, 10, 30}), "the lower median of an even count")
}

func TestParseLoadAverage(t *testing.T) {
	v, ok := parseLoadAverage("9.17 7.84 5.31 3/812 32683\n")
	assert.True(t, ok)
	assert.InDelta(t, 9.17, v, 1e-9)
	_, ok = parseLoadAverage("")
	assert.False(t, ok)
	assert.Contains(t, loadNote([]float64{1, 3, 2}, 2), "2.0 median (1.0–3.0) on 2 CPUs")
	assert.Empty(t, loadNote(nil, 2))
}
