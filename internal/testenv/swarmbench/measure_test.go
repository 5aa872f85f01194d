package swarmbench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

func TestMeasureFindsWhenTrafficIsAllNew(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(ms int, v string) loadgen.Result {
		return loadgen.Result{Start: at(ms), End: at(ms + 50), Status: 200, Version: v}
	}
	results := []loadgen.Result{
		ok(0, "v1"),
		ok(100, "v2"),
		{Start: at(200), End: at(200 + 6000), Status: 502, Err: "HTTP 502: Bad Gateway"},
		ok(300, "v1"),
		{Start: at(400), End: at(450), Err: `Get "http://127.0.0.1:4567/?delay=50ms": read tcp 127.0.0.1:1234->127.0.0.1:4567: read: connection reset by peer`},
		ok(500, "v2"),
		ok(600, "v2"),
	}
	m := measure(results, 5*time.Second, "v2")
	assert.Equal(t, 7, m.Requests)
	assert.Equal(t, 2, m.Failed)
	assert.Equal(t, 1, m.Hung, "the 502 took 6 s")
	assert.Equal(t, at(100), m.FirstNew)
	assert.Equal(t, at(500), m.FullNew, "the failure at 400 ms is the last request not answered by v2")
	assert.Equal(t, map[string]int{"HTTP 502": 1, "read tcp ADDR->ADDR: read: connection reset by peer": 1}, m.Failures)
}

func TestMeasureNeverAllNew(t *testing.T) {
	t0 := time.Now()
	results := []loadgen.Result{
		{Start: t0, End: t0.Add(time.Millisecond), Status: 200, Version: "v2"},
		{Start: t0.Add(time.Second), End: t0.Add(time.Second), Status: 200, Version: "v1"},
	}
	m := measure(results, 5*time.Second, "v2")
	assert.True(t, m.FullNew.IsZero(), "the last request was answered by v1")
	assert.Equal(t, t0, m.FirstNew)
	assert.Zero(t, m.Failed)
}

func TestFailureSummaryMostFrequentFirst(t *testing.T) {
	assert.Equal(t, "3× HTTP 502; 1× EOF", failureSummary(map[string]int{"EOF": 1, "HTTP 502": 3}))
	assert.Equal(t, "", failureSummary(nil))
}

func TestSelectStrategies(t *testing.T) {
	all, err := SelectStrategies("all")
	assert.NoError(t, err)
	assert.Len(t, all, len(Strategies))
	one, err := SelectStrategies("dswap")
	assert.NoError(t, err)
	assert.Equal(t, []Strategy{Strategies[1]}, one)
	_, err = SelectStrategies("labels")
	assert.ErrorContains(t, err, "service-update, dswap")
}

func TestSummaryTableAddsUpTheSwaps(t *testing.T) {
	t0 := time.Now()
	swap := func(failed, hung int, allNew time.Duration, took time.Duration) Swap {
		s := Swap{Start: t0, End: t0.Add(took), Metrics: Metrics{Requests: 100, Failed: failed, Hung: hung}}
		if allNew > 0 {
			s.FullNew = t0.Add(allNew)
		}
		return s
	}
	g := &Group{Strategy: Strategies[0], Swaps: []Swap{
		swap(12, 8, 35*time.Second, 12*time.Second),
		swap(18, 8, 36*time.Second, 11*time.Second),
		swap(15, 8, 0, 13*time.Second),
	}}
	g.Swaps[2].Err = assert.AnError
	row := SummaryTable([]*Group{g}).Rows[0]
	assert.Equal(t, []string{"service-update", "2/3", "300", "45 (12, 18, 15)", "24",
		"35.50s (35.00s–36.00s), never in 1", "12.00s (11.00s–13.00s)"}, row)
}
