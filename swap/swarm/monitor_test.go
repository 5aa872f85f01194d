package swarm

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// flipHook wraps a confirmLog: after the n-th confirmed write (the first
// is flip 1 in a canaryWorld, whose service was routed before), it runs
// after(n) and records when each write was confirmed.
type flipHook struct {
	*confirmLog
	after func(n int)

	mu sync.Mutex
	n  int
	at []time.Time
}

func (h *flipHook) WaitApplied(ctx context.Context, exp traefik.Expectation, timeout time.Duration) (time.Duration, error) {
	took, err := h.confirmLog.WaitApplied(ctx, exp, timeout)
	h.mu.Lock()
	h.n++
	n := h.n
	if err == nil {
		h.at = append(h.at, time.Now())
	}
	h.mu.Unlock()
	if h.after != nil {
		h.after(n)
	}
	return took, err
}

func (h *flipHook) confirmedAt(i int) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.at[i]
}

func monitorSwapper(w *world, h *flipHook) *Swapper {
	s := w.swapper()
	s.Traefik = h
	return s
}

func TestAMonitorWindowThatPassesLetsTheSwapFinishAfterIt(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx := context.Background()
	v1 := w.routedHosts(t)
	h := &flipHook{confirmLog: cl}
	var updatedAt time.Time
	hook := w.cluster.afterUpdate
	w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
		hook(f, s)
		if s.Name == "web" && s.Image == "myapp:v2" && updatedAt.IsZero() {
			updatedAt = time.Now()
		}
	}
	window := 300 * time.Millisecond
	res, err := monitorSwapper(w, h).Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Monitor: &window}})
	require.NoError(t, err)

	assert.Equal(t, []string{
		"confirm web=3 bridge-replicas=3",
		"update service to myapp:v2",
		"confirm web=3 bridge-replicas=3",
		"scale bridge to 0",
	}, cl.lines(), "flip 1, the window, then the swap as without --monitor")
	assert.GreaterOrEqual(t, updatedAt.Sub(h.confirmedAt(0)), window, "the service was updated only after the window")
	var phases []string
	for _, st := range res.Steps {
		phases = append(phases, st.Phase.String())
	}
	assert.Contains(t, phases, "monitor")

	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
	assert.Empty(t, intersect(w.routedHosts(t), v1))
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound, "bridge removed")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "swapped", entries[0].Result)
}

// assertRolledBack checks that a swap undone during its monitor window
// left service web as it was: v1, routed alone, its lock released, the
// bridge drained and removed after the route went back, and the history
// saying rolled-back for reason.
func assertRolledBack(t *testing.T, w *world, cl *confirmLog, v1 []string, reason string) {
	t.Helper()
	assert.Equal(t, []string{
		"confirm web=3 bridge-replicas=3",
		"confirm web=3 bridge-replicas=3",
		"scale bridge to 0",
	}, cl.lines(), "flip 1, the route back to the old tasks confirmed, then the bridge drained; the service never updated")
	assert.ElementsMatch(t, v1, w.routedHosts(t), "the route names the v1 tasks that stood by")
	assertServiceBackOnV1(t, w)
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "rolled-back", entries[0].Result, "as a monitor's rollback on one host")
	assert.Contains(t, entries[0].Reason, reason)
	assert.Equal(t, "myapp:v2", entries[0].ToImage)
}

func TestABridgeTaskThatFailsInTheMonitorWindowSendsTheTrafficBackToTheOldTasks(t *testing.T) {
	w, cl := canaryWorld(t)
	v1 := w.routedHosts(t)
	h := &flipHook{confirmLog: cl, after: func(n int) {
		if n == 1 {
			w.cluster.kill(BridgeName("web"), 2)
		}
	}}
	window := time.Minute
	start := time.Now()
	_, err := monitorSwapper(w, h).Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Monitor: &window}})

	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Less(t, time.Since(start), 10*time.Second, "caught at once, not at the window's end")
	assert.Equal(t, swap.PhaseMonitor, fe.Phase)
	assert.Contains(t, fe.Reason.Error(), "a task of the bridge stopped running: task ")
	assert.Contains(t, fe.Reason.Error(), "(slot 2) failed")
	assert.Contains(t, fe.Reason.Error(), "within the --monitor window of 1m0s")
	assert.Contains(t, fe.Reason.Error(), "after flip 1)")
	assert.Contains(t, fe.Container, "web-dswap.2.", "the failed task is named")
	assert.Contains(t, fe.Kept, "myapp:v1 (service web) serves again on all its 3 tasks")
	assert.NoError(t, fe.RollbackErr)
	assertRolledBack(t, w, cl, v1, "a task of the bridge stopped running")
}

// monitorMetrics is Traefik's metrics of a release that answers 5xx to
// one request in five once it has the traffic: each read adds 100
// requests and 20 errors to the route's service.
type monitorMetrics struct {
	mu    sync.Mutex
	reads int
}

func (m *monitorMetrics) Snapshot(context.Context) (traefik.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	n := float64(m.reads)
	return traefik.Snapshot{At: time.Now(), Services: map[string]traefik.ServiceStats{
		"web@file": {Requests: 100 * n, Errors: 20 * n},
	}}, nil
}

func TestAnErrorRateOverTheLimitInTheMonitorWindowSendsTheTrafficBack(t *testing.T) {
	w, cl := canaryWorld(t)
	v1 := w.routedHosts(t)
	s := monitorSwapper(w, &flipHook{confirmLog: cl})
	s.Metrics = &monitorMetrics{}
	window := time.Minute
	start := time.Now()
	_, err := s.Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{
		Monitor: &window, MaxErrorRate: ptr("1%"), MinRequests: ptr(10)}})

	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Less(t, time.Since(start), 10*time.Second, "judged every second, not at the window's end")
	assert.Equal(t, swap.PhaseMonitor, fe.Phase)
	assert.Contains(t, fe.Reason.Error(), "the new version's error rate 20% (20 of 100) > 1%")
	assert.Contains(t, fe.Reason.Error(), "within the --monitor window of 1m0s")
	assert.Contains(t, err.Error(), "swap of web failed during monitor")
	assert.Contains(t, fe.Kept, "myapp:v1 (service web) serves again on all its 3 tasks")
	assertRolledBack(t, w, cl, v1, "error rate 20%")
}

func TestAMonitorJudgedOnMetricsThatCannotBeReadIsRefusedBeforeAnythingChanges(t *testing.T) {
	w, cl := canaryWorld(t)
	window := time.Minute
	_, err := monitorSwapper(w, &flipHook{confirmLog: cl}).Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{
		Monitor: &window, MaxErrorRate: ptr("1%")}})
	require.ErrorIs(t, err, swap.ErrBadInput)
	assert.Contains(t, err.Error(), "--metrics.prometheus=true")
	assert.Empty(t, cl.lines())
	assert.Nil(t, w.cluster.byNameLocked(BridgeName("web")), "no bridge created")
}

func TestInterruptedDuringTheMonitorWindowTheSwapFinishes(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &flipHook{confirmLog: cl, after: func(n int) {
		if n == 1 {
			cancel() // Ctrl-C once the bridge has the traffic
		}
	}}
	window := time.Minute
	start := time.Now()
	_, err := monitorSwapper(w, h).Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Monitor: &window}})
	require.NoError(t, err, "as on one host: traffic stays on the new version and the swap finishes")
	assert.Less(t, time.Since(start), 10*time.Second, "the window ended at the interruption")
	assert.Equal(t, []string{
		"confirm web=3 bridge-replicas=3",
		"update service to myapp:v2",
		"confirm web=3 bridge-replicas=3",
		"scale bridge to 0",
	}, cl.lines())
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel)
}

func TestABreachWhoseRouteCannotGoBackLeavesTheBridgeServing(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx := context.Background()
	h := &flipHook{confirmLog: cl, after: func(n int) {
		if n == 1 {
			w.traefik.mu.Lock()
			w.traefik.refuse = true // Traefik stops confirming after flip 1
			w.traefik.mu.Unlock()
			w.cluster.kill(BridgeName("web"), 1)
		}
	}}
	window := time.Minute
	_, err := monitorSwapper(w, h).Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Monitor: &window}})

	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, fe.RollbackErr, errStillOnBridge)
	assert.Contains(t, fe.Kept, "myapp:v2 still serves on the bridge service web-dswap")
	assert.Contains(t, fe.Kept, "dswap sync web finishes the swap")
	assert.NotNil(t, w.cluster.byNameLocked(BridgeName("web")), "the bridge stays: it is what the route names")
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image, "the old tasks still stand by")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "failed", entries[0].Result, "not rolled back: the new version still serves")
}

func TestLeftRunningNamesTheFirstRoutedTaskThatNoLongerRuns(t *testing.T) {
	up := func(id string, slot int) engine.SwarmTask {
		return engine.SwarmTask{ID: id, Slot: slot, State: "running", DesiredState: "running"}
	}
	routed := []engine.SwarmTask{up("a", 1), up("b", 2)}
	shutdown := up("b", 2)
	shutdown.DesiredState = "shutdown"
	replacement := up("c", 2)
	for _, tc := range []struct {
		name   string
		now    []engine.SwarmTask
		breach string
	}{
		{"all running", []engine.SwarmTask{up("a", 1), up("b", 2)}, ""},
		{"a new task beside them is no concern", []engine.SwarmTask{up("a", 1), up("b", 2), up("c", 3)}, ""},
		{"meant to stop", []engine.SwarmTask{up("a", 1), shutdown}, "(slot 2) running"},
		{"gone", []engine.SwarmTask{up("a", 1), replacement}, "task b (slot 2) of the bridge is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := leftRunning(tc.now, routed)
			if tc.breach == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.breach)
		})
	}
}

func TestPromoteWatchesTheMonitorWindowAfterFlip1(t *testing.T) {
	w, cl := pausedAt20(t)
	ctx := context.Background()
	paused := len(cl.lines())
	h := &flipHook{confirmLog: cl, after: func(n int) {
		if n == 1 { // paused at its last weight: flip 1 comes next
			w.cluster.kill(BridgeName("web"), 3)
		}
	}}
	window := time.Minute
	_, err := monitorSwapper(w, h).Promote(ctx, "web", swap.Overrides{Monitor: &window})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhaseMonitor, fe.Phase)
	assert.Contains(t, fe.Reason.Error(), "(slot 3) failed")
	assert.Equal(t, []string{
		"scale bridge to 3",
		"confirm web=3 bridge-replicas=3",
		"confirm web=3 bridge-replicas=3",
		"scale bridge to 0",
	}, cl.lines()[paused:], "flip 1, then the route back to the service's tasks before the bridge was drained")
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "rolled-back", entries[1].Result)
}
