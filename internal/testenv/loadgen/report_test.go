package loadgen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// at returns a time offset from a fixed origin, for readable fixtures.
func at(ms int) time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
}

// ok200 is a successful answer of version sent at start, received at end.
func ok200(start, end int, version string) Result {
	return Result{Start: at(start), End: at(end), Status: 200, Version: version}
}

func TestNewReportCounts(t *testing.T) {
	results := []Result{
		ok200(30, 40, "v2"),
		ok200(0, 10, "v1"),
		{Start: at(10), End: at(20), Status: 502, Err: "HTTP 502: Bad Gateway"},
		{Start: at(15), End: at(6015), Status: 200, Version: "v1"}, // hung but fine
		{Start: at(20), End: at(25), Err: "connection refused"},
		{Start: at(21), End: at(6021), Status: 200, Err: "reading body: unexpected EOF"}, // hung and failed
	}
	rep := NewReport(results, 5*time.Second, 2)

	assert.Equal(t, 6, rep.Total)
	assert.Equal(t, 3, rep.OK)
	assert.Equal(t, 3, rep.Failed)
	assert.Equal(t, 2, rep.Hung)
	assert.Equal(t, 2, rep.Aborted)
	assert.Equal(t, map[string]int{"v1": 2, "v2": 1}, rep.ByVersion)
	assert.Equal(t, map[int]int{200: 4, 502: 1, 0: 1}, rep.ByStatus)
	assert.Equal(t, 6021*time.Millisecond, rep.Elapsed)
	for i := 1; i < len(rep.Results); i++ {
		assert.False(t, rep.Results[i].Start.Before(rep.Results[i-1].Start), "results sorted by Start")
	}
	assert.Equal(t, at(0), results[1].Start, "the caller's slice is not reordered")

	failures := rep.Failures()
	require.Len(t, failures, 3)
	assert.Equal(t, 502, failures[0].Status)
	assert.Equal(t, "connection refused", failures[1].Err)
	assert.Len(t, rep.HungResults(), 2)
}

func TestMixedAfter(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		newer   string
		want    []Result
	}{
		{
			name:    "clean switch",
			results: []Result{ok200(0, 10, "v1"), ok200(10, 20, "v2"), ok200(20, 30, "v2")},
			newer:   "v2",
			want:    nil,
		},
		{
			name: "in flight at the switch may answer old",
			// Sent at 15, before v2 was first received at 20.
			results: []Result{ok200(0, 20, "v2"), ok200(15, 25, "v1"), ok200(25, 30, "v2")},
			newer:   "v2",
			want:    nil,
		},
		{
			name:    "old answer sent after the switch",
			results: []Result{ok200(0, 20, "v2"), ok200(21, 25, "v1"), ok200(22, 30, "v2")},
			newer:   "v2",
			want:    []Result{ok200(21, 25, "v1")},
		},
		{
			name:    "failures are not answers",
			results: []Result{ok200(0, 20, "v2"), {Start: at(21), End: at(22), Status: 502, Err: "HTTP 502"}},
			newer:   "v2",
			want:    nil,
		},
		{
			name:    "newer never answered",
			results: []Result{ok200(0, 10, "v1"), ok200(10, 20, "v1")},
			newer:   "v2",
			want:    nil,
		},
		{
			name:    "sent exactly at the first receive is not after it",
			results: []Result{ok200(0, 20, "v2"), ok200(20, 25, "v1")},
			newer:   "v2",
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, NewReport(tt.results, 0, 0).MixedAfter(tt.newer))
		})
	}
}

func TestFirstAndLastReceived(t *testing.T) {
	rep := NewReport([]Result{
		ok200(0, 50, "v1"),
		ok200(5, 10, "v1"),
		ok200(20, 30, "v2"),
		{Start: at(40), End: at(45), Status: 502, Version: "v2", Err: "HTTP 502"},
	}, 0, 0)
	assert.Equal(t, at(10), rep.FirstReceived("v1"))
	assert.Equal(t, at(50), rep.LastReceived("v1"))
	assert.Equal(t, at(30), rep.FirstReceived("v2"))
	assert.Equal(t, at(30), rep.LastReceived("v2"), "a failed request is not an answer")
	assert.True(t, rep.FirstReceived("v3").IsZero())
	assert.True(t, rep.LastReceived("v3").IsZero())
}

func TestSummary(t *testing.T) {
	rep := NewReport([]Result{
		ok200(0, 1000, "v1"),
		ok200(0, 2000, "v2"),
		{Start: at(0), End: at(10), Status: 502, Err: "HTTP 502"},
		{Start: at(0), End: at(10), Err: "EOF"},
	}, time.Second, 1)
	assert.Equal(t,
		"4 requests: 2 ok, 2 failed, 2 hung (>= 1s), 1 aborted; versions v1=1 v2=1; failures transport=1 502=1; latency p50 10ms p99 2s max 2s; 2s, 2.0 req/s",
		rep.Summary())
	assert.Equal(t, "0 requests: 0 ok, 0 failed, 0 hung (>= 5s); latency p50 0s p99 0s max 0s", NewReport(nil, 0, 0).Summary())
}

func TestResultFailed(t *testing.T) {
	tests := []struct {
		r    Result
		want bool
	}{
		{r: Result{Status: 200}, want: false},
		{r: Result{Status: 204}, want: false},
		{r: Result{Status: 301}, want: true},
		{r: Result{Status: 503, Err: "HTTP 503"}, want: true},
		{r: Result{Err: "connection reset"}, want: true},
		{r: Result{Status: 200, Err: "reading body: unexpected EOF"}, want: true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.r.Failed(), "%+v", tt.r)
	}
}
