package torture

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

func TestDrawIsReplayable(t *testing.T) {
	kinds, err := ParseKinds("all")
	require.NoError(t, err)
	seen := map[FaultKind]bool{}
	for i := range 200 {
		f := Draw(42, i, kinds)
		assert.Equal(t, f, Draw(42, i, kinds), "the same seed and index draw the same fault")
		s, ok := spec(f.Kind)
		require.True(t, ok)
		assert.Contains(t, s.Phases, f.Phase)
		assert.LessOrEqual(t, f.Delay, s.MaxDelay)
		assert.Zero(t, f.Delay%time.Millisecond, "whole milliseconds, so that the printed moment replays exactly")
		seen[f.Kind] = true
	}
	assert.Len(t, seen, len(Table), "200 draws reach every fault kind")
	differs := false
	for i := range 20 {
		differs = differs || Draw(42, i, kinds) != Draw(43, i, kinds)
	}
	assert.True(t, differs, "another seed draws other faults")
}

func TestParseKinds(t *testing.T) {
	kinds, err := ParseKinds("kill-dswap, none")
	require.NoError(t, err)
	assert.Equal(t, []FaultKind{FaultKillDswap, FaultNone}, kinds)
	_, err = ParseKinds("kill-dswap,unplug")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown fault "unplug"`)
	assert.Contains(t, err.Error(), "restart-traefik")
}

func TestFiguresPerKind(t *testing.T) {
	records := []SwapRecord{
		{Fault: Fault{Kind: FaultNone}, Requests: 100, Recovery: 3 * time.Second},
		{Fault: Fault{Kind: FaultRestartTraefik}, Injected: true, Requests: 50, FailedUnavoidable: 7, Recovery: 2 * time.Second},
		{Fault: Fault{Kind: FaultRestartTraefik}, Injected: true, Requests: 50, FailedAvoidable: 1, Recovery: 4 * time.Second, Violations: []string{"x"}},
		{Fault: Fault{Kind: FaultRestartTraefik}, Requests: 50, Recovery: time.Second},
	}
	figs := Figures(records)
	require.Len(t, figs, 2)
	assert.Equal(t, FaultNone, figs[0].Kind, "in the table's order")
	r := figs[1]
	assert.Equal(t, 3, r.Count)
	assert.Equal(t, 2, r.Struck)
	assert.Equal(t, 1, r.FailedAvoidable)
	assert.Equal(t, 7, r.FailedUnavoidable)
	assert.Equal(t, 1, r.Violations)
	assert.Equal(t, 2*time.Second, r.RecoveryMedian)
	assert.Equal(t, 4*time.Second, r.RecoveryMax)

	var b strings.Builder
	require.NoError(t, WriteMarkdown(&b, records))
	assert.Contains(t, b.String(), "| restart-traefik | 3 | 2 | 150 | 1 | 7 | 1 | 2.00 s | 4.00 s |")
	assert.Contains(t, b.String(), "| **all** | 4 | 2 | 250 | 1 | 7 | 1 | | |")
}

func TestInWindow(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	until := at.Add(time.Second)
	const grace = 0
	req := func(start, end time.Duration) loadgen.Result {
		return loadgen.Result{Start: at.Add(start), End: at.Add(end)}
	}
	assert.True(t, inWindow(req(-50*time.Millisecond, 10*time.Millisecond), at, until), "in flight at the strike")
	assert.True(t, inWindow(req(time.Second+grace, time.Second+grace+time.Millisecond), at, until), "started at the end of the grace")
	assert.False(t, inWindow(req(-time.Second, -time.Millisecond), at, until), "ended before the strike")
	assert.False(t, inWindow(req(time.Second+grace+time.Millisecond, 2*time.Second+grace), at, until), "started after the grace")
	assert.False(t, inWindow(req(0, time.Millisecond), time.Time{}, time.Time{}), "a fault that never struck has no window")
}
