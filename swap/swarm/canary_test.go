package swarm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// confirmLog wraps the fake Traefik: it records every confirmed write, as
// a line naming each service's servers and the weights of the route file
// at that moment, and what the Swarm had then, in one log with the
// Swarm's own changes.
type confirmLog struct {
	*fakeTraefik
	w *world
	t *testing.T
	// onWeighted runs after a weighted route was confirmed.
	onWeighted func()

	mu  sync.Mutex
	log []string
}

func (c *confirmLog) WaitApplied(ctx context.Context, exp traefik.Expectation, timeout time.Duration) (time.Duration, error) {
	took, err := c.fakeTraefik.WaitApplied(ctx, exp, timeout)
	if err != nil {
		return took, err
	}
	content, ok, rerr := c.w.routes.Read(swap.KeyOf("web"))
	require.NoError(c.t, rerr)
	require.True(c.t, ok)
	var parts []string
	names := make([]string, 0, len(exp.Servers))
	for name := range exp.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", name, len(exp.Servers[name])))
	}
	line := "confirm " + strings.Join(parts, " ")
	weighted := strings.Contains(string(content), "weighted")
	if weighted {
		line += " weights=" + weightsOf(string(content))
	}
	if len(exp.Absent) > 0 {
		line += " absent=" + strings.Join(exp.Absent, ",")
	}
	if b := c.w.cluster.byNameLocked(BridgeName("web")); b != nil {
		line += fmt.Sprintf(" bridge-replicas=%d", b.Replicas)
	}
	c.add(line)
	if weighted && c.onWeighted != nil {
		c.onWeighted()
	}
	return took, nil
}

func (c *confirmLog) add(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, line)
}

func (c *confirmLog) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// weightsOf reads the stable and canary weights of a weighted route file
// ("80/20").
func weightsOf(content string) string {
	var ws []string
	for _, line := range strings.Split(content, "\n") {
		if w, ok := strings.CutPrefix(strings.TrimSpace(line), "weight: "); ok {
			ws = append(ws, w)
		}
	}
	return strings.Join(ws, "/")
}

func (f *fakeCluster) byNameLocked(name string) *engine.SwarmService {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byName(name)
}

// canaryWorld is a world whose Traefik writes go to a confirmLog, and
// whose Swarm logs the bridge's updates and removal into it; the service
// is routed (dswap sync) before the test starts.
func canaryWorld(t *testing.T) (*world, *confirmLog) {
	t.Helper()
	w := newWorld(t)
	_, err := w.swapper().Sync(context.Background(), "web", swap.Overrides{})
	require.NoError(t, err)
	cl := &confirmLog{fakeTraefik: w.traefik, w: w, t: t}
	image := w.svc.Image
	w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
		if s.Name == BridgeName("web") {
			cl.add(fmt.Sprintf("scale bridge to %d", s.Replicas))
		}
		if s.Name == "web" && s.Image != image {
			image = s.Image
			cl.add("update service to " + s.Image)
		}
	}
	return w, cl
}

func (w *world) canarySwapper(cl *confirmLog) *Swapper {
	s := w.swapper()
	s.Traefik = cl
	return s
}

func TestCanaryStepsAreConfirmedInOrderThenTheBridgeIsScaledBeforeFlip1(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx := context.Background()
	v1 := w.routedHosts(t)
	step := 10 * time.Millisecond
	res, err := w.canarySwapper(cl).Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Canary: ptr("20%,50%"), Step: &step}})
	require.NoError(t, err)

	assert.Equal(t, []string{
		"confirm web-canary=1 web-stable=3 weights=80/20 bridge-replicas=1",
		"confirm web-canary=1 web-stable=3 weights=50/50 bridge-replicas=1",
		"scale bridge to 3",
		"confirm web=3 bridge-replicas=3",
		"update service to myapp:v2",
		"confirm web=3 bridge-replicas=3",
		"scale bridge to 0",
	}, cl.lines(), "each step written and confirmed in order; the bridge scaled to the replica count before flip 1")

	require.Len(t, res.Canary, 2)
	for i, st := range res.Canary {
		assert.Equal(t, []int{20, 50}[i], st.Weight)
		assert.Equal(t, "pass", st.Verdict)
	}
	var weights []int
	for _, wc := range res.Weights {
		weights = append(weights, wc.Percent)
	}
	assert.Equal(t, []int{20, 50, 100}, weights)

	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
	assert.Empty(t, intersect(w.routedHosts(t), v1))
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "swapped", entries[0].Result)
	assert.Len(t, entries[0].Canary, 2, "the steps are in the history")
}

func TestCanaryReplicasStartTheBridgeWithThatManyTasks(t *testing.T) {
	w, cl := canaryWorld(t)
	step, two := 10*time.Millisecond, 2
	_, err := w.canarySwapper(cl).Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Canary: ptr("50%"), Step: &step, CanaryReplicas: &two}})
	require.NoError(t, err)
	assert.Equal(t, "confirm web-canary=2 web-stable=3 weights=50/50 bridge-replicas=2", cl.lines()[0])
	assert.Equal(t, "scale bridge to 3", cl.lines()[1])
}

// errorMetrics is Traefik's metrics of a canary that answers 5xx to one
// request in five: each read adds 100 requests and 20 errors to the
// canary child and 400 good ones to the stable child.
type errorMetrics struct {
	mu    sync.Mutex
	reads int
}

func (m *errorMetrics) Snapshot(context.Context) (traefik.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	n := float64(m.reads)
	return traefik.Snapshot{At: time.Now(), Services: map[string]traefik.ServiceStats{
		"web-canary@file": {Requests: 100 * n, Errors: 20 * n},
		"web-stable@file": {Requests: 400 * n},
	}}, nil
}

func TestAFailedCanaryStepPutsAllTrafficBackBeforeTheBridgeIsRemoved(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx := context.Background()
	v1 := w.routedHosts(t)
	s := w.canarySwapper(cl)
	s.Metrics = &errorMetrics{}
	step := 5 * time.Second
	res, err := s.Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{
		Canary: ptr("20%,50%"), Step: &step, MaxErrorRate: ptr("1%"), MinRequests: ptr(10)}})

	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	require.ErrorIs(t, err, swap.ErrCanaryFailed)
	assert.Equal(t, swap.PhaseCanary, fe.Phase)
	assert.Contains(t, fe.Reason.Error(), "error rate 20% (20 of 100) > 1% at 20%")
	assert.Contains(t, fe.Kept, "myapp:v1 (service web) keeps serving")
	require.NotNil(t, res)
	require.Len(t, res.Canary, 1, "taken out in the first step")
	assert.Equal(t, "fail", res.Canary[0].Verdict)

	assert.Equal(t, []string{
		"confirm web-canary=1 web-stable=3 weights=80/20 bridge-replicas=1",
		"confirm web=3 absent=web-stable,web-canary bridge-replicas=1",
		"scale bridge to 0",
	}, cl.lines(), "all traffic back on the service's tasks, confirmed with both children gone, then the bridge drained")
	assert.ElementsMatch(t, v1, w.routedHosts(t), "the route names the v1 tasks again")

	assertServiceBackOnV1(t, w)

	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "rolled-back", entries[0].Result, "as a failed canary on one host")
	assert.Contains(t, entries[0].Reason, "error rate 20%")
	require.Len(t, entries[0].Canary, 1)
	assert.Equal(t, "fail", entries[0].Canary[0].Verdict)
}

func TestABridgeTaskThatFailsDuringAStepTakesTheCanaryOut(t *testing.T) {
	w, cl := canaryWorld(t)
	cl.onWeighted = func() { w.cluster.kill(BridgeName("web"), 1) }
	step := time.Minute
	start := time.Now()
	_, err := w.canarySwapper(cl).Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Canary: ptr("20%"), Step: &step}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Reason.Error(), "a task of the bridge failed during the 20% canary step")
	assert.Contains(t, fe.Container, "web-dswap.1.")
	assert.Less(t, time.Since(start), 10*time.Second, "not the step's end")
	lines := cl.lines()
	require.Len(t, lines, 3)
	assert.Equal(t, "confirm web=3 absent=web-stable,web-canary bridge-replicas=1", lines[1])
	assert.Equal(t, "scale bridge to 0", lines[2])
}

func TestAJudgedCanaryWithoutMetricsIsRefusedBeforeAnythingChanges(t *testing.T) {
	w, cl := canaryWorld(t)
	_, err := w.canarySwapper(cl).Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Canary: ptr("20%"), MaxErrorRate: ptr("1%")}})
	require.ErrorIs(t, err, swap.ErrBadInput)
	assert.Contains(t, err.Error(), "--metrics.prometheus=true")
	assert.Empty(t, cl.lines())
	assert.Nil(t, w.cluster.byNameLocked(BridgeName("web")), "no bridge created")
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.NotContains(t, svc.Labels, LockLabel)
}

func TestRepairUndoesASwapKilledDuringACanaryStep(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx := context.Background()
	v1 := w.routedHosts(t)
	// A dswap killed during its 20% step: the bridge runs one task, the
	// route is split between it and the service's tasks.
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	id, err := w.cluster.CreateSwarmService(ctx, bridgeSpec(svc, "myapp:v2").Scaled(1))
	require.NoError(t, err)
	killed := w.swapper()
	killed.cfg = swap.Defaults
	p, err := killed.routingPlan(ctx, svc, "myapp:v2")
	require.NoError(t, err)
	bridgeTasks, err := w.cluster.SwarmTasks(ctx, id)
	require.NoError(t, err)
	stable, err := killed.serviceTasks(ctx, p)
	require.NoError(t, err)
	sp := labels.Split{CanaryWeight: 20}
	sp.Stable, err = targets(stable, p.network)
	require.NoError(t, err)
	sp.Canary, err = targets(running(bridgeTasks, "myapp:v2"), p.network)
	require.NoError(t, err)
	content, err := p.routing.WeightedFile("web", sp)
	require.NoError(t, err)
	_, err = killed.commit(ctx, p, content, traefik.Expectation{Servers: p.routing.WeightedServerURLs(sp)})
	require.NoError(t, err)
	split, err := killed.routeSplit("web")
	require.NoError(t, err)
	require.True(t, split)

	_, err = w.canarySwapper(cl).Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"confirm web=3 absent=web-stable,web-canary bridge-replicas=1",
		"scale bridge to 0",
	}, cl.lines(), "the traffic went back to the service's tasks, confirmed, before the bridge was drained")
	assert.ElementsMatch(t, v1, w.routedHosts(t))
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	after, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", after.Image, "the service never left its version")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	assert.Empty(t, entries, "an undone canary changed nothing that served")
}

func ptr[T any](v T) *T { return &v }

func TestALongCanaryWritesItsLockAgainSoItIsNotTakenForStale(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := w.swapper()
	start := time.Now()
	s.Now = func() time.Time { return start }
	_, release, err := s.lock(ctx, "web")
	require.NoError(t, err)
	later := start.Add(StaleLock + time.Minute)
	s.Now = func() time.Time { return later }
	require.NoError(t, s.refreshLock(ctx, "web"))
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	stale, held := takeover(svc.Labels[LockLabel], later, func(string) bool { return false })
	assert.False(t, stale, "written again, the lock is fresh")
	assert.Equal(t, later.Unix(), held.since.Unix())

	release()
	svc, err = w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.NotContains(t, svc.Labels, LockLabel, "the lock written again is the one released")

	other := w.swapper()
	other.heldLock = "someone-else/1"
	assert.Error(t, other.refreshLock(ctx, "web"), "a lock that is not this dswap's is not written")
}
