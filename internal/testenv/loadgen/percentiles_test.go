package loadgen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// resultsWithLatencies makes results whose latencies are the given
// milliseconds.
func resultsWithLatencies(ms ...int) []Result {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Result, len(ms))
	for i, m := range ms {
		out[i] = Result{Start: t0, End: t0.Add(time.Duration(m) * time.Millisecond), Status: 200}
	}
	return out
}

func TestLatencyOf(t *testing.T) {
	ms := time.Millisecond
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted on purpose
	}
	tests := []struct {
		name string
		in   []Result
		want Percentiles
	}{
		{name: "empty", in: nil, want: Percentiles{}},
		{name: "one", in: resultsWithLatencies(7), want: Percentiles{P50: 7 * ms, P99: 7 * ms, Max: 7 * ms}},
		{name: "two", in: resultsWithLatencies(9, 1), want: Percentiles{P50: 1 * ms, P99: 9 * ms, Max: 9 * ms}},
		{name: "hundred", in: resultsWithLatencies(hundred...), want: Percentiles{P50: 50 * ms, P99: 99 * ms, Max: 100 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, LatencyOf(tt.in))
		})
	}
}

func TestPercentilesString(t *testing.T) {
	p := Percentiles{P50: 1234567 * time.Nanosecond, P99: 20 * time.Millisecond, Max: 3100123456 * time.Nanosecond}
	assert.Equal(t, "p50 1.23ms p99 20ms max 3.1s", p.String())
}
