package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// req builds a result sent at start ms and answered at end ms: by version
// when it is "v1"/"v2", failed when version is "".
func req(start, end int, version string) loadgen.Result {
	r := loadgen.Result{Start: ms(start), End: ms(end)}
	if version == "" {
		r.Status, r.Err = 502, "HTTP 502: Bad Gateway"
		return r
	}
	r.Status, r.Version = 200, version
	return r
}

func TestMeasureCleanSwap(t *testing.T) {
	s := Swap{From: "v1", To: "v2", Start: ms(0), End: ms(2000), HealthyAt: ms(900), ReadyAt: ms(800)}
	results := []loadgen.Result{
		req(-100, -50, "v1"), // before the window: not counted
		req(0, 50, "v1"),
		req(500, 560, "v1"),
		req(950, 1000, "v1"), // sent before the flip, answered by old
		req(1000, 1060, "v2"),
		req(1100, 1150, "v2"),
		req(4000, 4050, "v2"), // after the window
	}
	m := measure(results, s, Window{From: ms(0), To: ms(3000)}, 5*time.Second)
	assert.Equal(t, 5, m.Requests)
	assert.Zero(t, m.Failed)
	assert.Zero(t, m.Hung)
	assert.Zero(t, m.MixedAnswers)
	assert.Zero(t, m.MixedSent)
	assert.True(t, m.HasTraffic)
	assert.Equal(t, 100*time.Millisecond, m.HealthyToTraffic, "healthy at 900 ms, first request new answered was sent at 1000 ms")
	assert.True(t, m.HasReady)
	assert.Equal(t, 100*time.Millisecond, m.ReadyToHealthy)
	assert.Equal(t, 50*time.Millisecond, m.Latency.P50)
	assert.Equal(t, 60*time.Millisecond, m.Latency.Max)
}

func TestMeasureMixedWindows(t *testing.T) {
	s := Swap{From: "v1", To: "v2", Start: ms(0), End: ms(2000)}
	w := Window{From: ms(0), To: ms(5000)}
	tests := []struct {
		name               string
		results            []loadgen.Result
		wantAnswer, wantBy time.Duration
	}{
		{
			name: "old answers a request sent after new answered one",
			results: []loadgen.Result{
				req(1000, 1050, "v2"),
				req(1200, 1250, "v1"),
				req(1300, 1350, "v1"),
			},
			wantAnswer: 300 * time.Millisecond, // 1050 → 1350
			wantBy:     300 * time.Millisecond, // 1000 → 1300
		},
		{
			name: "slow request sent before the flip finishes on old after new answered: mixed by answer only",
			results: []loadgen.Result{
				req(900, 3900, "v1"),
				req(1000, 4000, "v2"),
				req(1100, 1150, "v2"),
			},
			wantAnswer: 2750 * time.Millisecond, // 1150 → 3900
			wantBy:     0,
		},
		{
			name: "an answer of the same version string sent before the window is another container's: ignored",
			results: []loadgen.Result{
				req(-3000, 1500, "v2"),
				req(1000, 1050, "v1"),
				req(1100, 1150, "v2"),
			},
		},
		{
			name:    "no new answer",
			results: []loadgen.Result{req(100, 150, "v1")},
		},
		{
			name:    "old before new only",
			results: []loadgen.Result{req(100, 150, "v1"), req(200, 250, "v2")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := measure(tt.results, s, w, 5*time.Second)
			assert.Equal(t, tt.wantAnswer, m.MixedAnswers, "by answer time")
			assert.Equal(t, tt.wantBy, m.MixedSent, "by send time")
		})
	}
}

func TestMeasureFailuresAndHangs(t *testing.T) {
	s := Swap{From: "v1", To: "v2", Start: ms(0), End: ms(2000), HealthyAt: ms(1000)}
	results := []loadgen.Result{
		req(100, 130, ""),     // fast 502
		req(200, 30200, ""),   // hung until the dial timeout, then failed: both
		req(300, 6300, "v1"),  // hung, answered
		req(1500, 1550, "v2"), // first new answer
		{Start: ms(400), End: ms(450), Err: "connection reset"}, // transport error
	}
	m := measure(results, s, Window{From: ms(0), To: ms(4000)}, 5*time.Second)
	assert.Equal(t, 5, m.Requests)
	assert.Equal(t, 3, m.Failed)
	assert.Equal(t, 2, m.Hung)
	assert.Equal(t, 500*time.Millisecond, m.HealthyToTraffic)
	assert.Equal(t, 30*time.Second, m.Latency.Max)
}

func TestMeasureWithoutNewAnswer(t *testing.T) {
	s := Swap{From: "v1", To: "v2", Start: ms(0), End: ms(2000), HealthyAt: ms(1000)}
	m := measure([]loadgen.Result{req(100, 150, "v1")}, s, Window{From: ms(0), To: ms(4000)}, 5*time.Second)
	assert.False(t, m.HasTraffic, "no request reached the new version in the window")
	assert.False(t, m.HasReady, "no ready time was recorded")
}

func TestWindowIsHalfOpen(t *testing.T) {
	w := Window{From: ms(0), To: ms(3500)}
	assert.True(t, w.Contains(ms(0)))
	assert.True(t, w.Contains(ms(3499)))
	assert.False(t, w.Contains(ms(3500)))
	assert.False(t, w.Contains(ms(-1)))
}

func TestGroupTablesShowTargets(t *testing.T) {
	g := &Group{
		Scenario: Scenarios[0], Strategy: Strategies[0], Clients: 8,
		SteadyWindow:  Window{From: ms(-5000), To: ms(0)},
		SteadyResults: []loadgen.Result{req(-1000, -950, "v1")},
		Swaps: []Swap{
			{From: "v1", To: "v2", Start: ms(0), End: ms(1000), HealthyAt: ms(500), ReadyAt: ms(400), HasUsage: true, MaxRSS: 24e6, CPU: 50 * time.Millisecond, Readiness: "probe",
				Load: Window{From: ms(-500), To: ms(3500)}, Results: []loadgen.Result{req(600, 650, "v2")}},
			{From: "v2", To: "v1", Start: ms(4500), End: ms(4600), Err: errors.New("dswap up: exit code 1"),
				Load: Window{From: ms(4000), To: ms(7000)}, Results: []loadgen.Result{req(4600, 4650, "v2"), req(4700, 4730, "")}},
		},
	}
	measureGroup(g)
	table := GroupTable(g)
	rows := map[string][]string{}
	for _, r := range table.Rows {
		rows[r[0]] = r
	}
	assert.Equal(t, []string{"failed (non-2xx or transport error)", "0.5", "0–1", "1", "0", "0 over 100 consecutive swaps", "MISSED"}, rows["failed (non-2xx or transport error)"])
	assert.Equal(t, "met", rows["new healthy → first request it answered"][6])
	assert.Equal(t, "100ms", rows["new healthy → first request it answered"][1])
	assert.Equal(t, []string{"dswap peak RSS", "24.0 MB", "24.0 MB–24.0 MB", "", "", "< 40 MB", "met"}, rows["dswap peak RSS"])
	assert.Equal(t, "1", rows["swaps that failed"][3])
	assert.Contains(t, table.Notes, "swap 2 failed: dswap up: exit code 1")
	assert.Contains(t, table.Notes, "readiness decided by: (not reported) (1 swaps); probe (1 swaps)")

	sum := SummaryTable([]*Group{g})
	assert.Equal(t, []string{"50ms", "dswap", "1/2", "1", "0"}, sum.Rows[0][:5])
}

func TestGroupTablesCountCutSessions(t *testing.T) {
	sc, err := SelectScenarios("ws")
	require.NoError(t, err)
	g := &Group{
		Scenario: sc[0], Strategy: Strategies[0], Clients: 8,
		SteadyWindow:  Window{From: ms(-5000), To: ms(0)},
		SteadyResults: []loadgen.Result{req(-1000, -950, "v1")},
		Swaps: []Swap{
			{From: "v1", To: "v2", Start: ms(0), End: ms(1000), Sessions: 20, SessionsCut: 20, Load: Window{From: ms(-500), To: ms(3500)}, Results: []loadgen.Result{req(600, 650, "v2")}},
			{From: "v2", To: "v1", Start: ms(4000), End: ms(5000), Sessions: 20, SessionsCut: 3, Load: Window{From: ms(3500), To: ms(7500)}, Results: []loadgen.Result{req(4600, 4650, "v1")}},
		},
	}
	measureGroup(g)
	rows := map[string][]string{}
	for _, r := range GroupTable(g).Rows {
		rows[r[0]] = r
	}
	row := rows["WebSocket sessions cut (of 20 open)"]
	require.NotNil(t, row)
	assert.Equal(t, []string{"11.5", "3–20", "23"}, row[1:4])
	sum := SummaryTable([]*Group{g})
	assert.Equal(t, "23 of 40", sum.Rows[0][len(sum.Rows[0])-1])

	// Scenarios without sessions show no such row.
	g.Scenario = Scenarios[0]
	for _, r := range GroupTable(g).Rows {
		assert.NotContains(t, r[0], "WebSocket")
	}
}
