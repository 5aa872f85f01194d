package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// pausedAt20 runs dswap up --canary 20%,50% --pause: it stops at 50%.
func pausedAt20(t *testing.T) (*world, *confirmLog) {
	t.Helper()
	w, cl := canaryWorld(t)
	step := 10 * time.Millisecond
	res, err := w.canarySwapper(cl).Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Canary: ptr("20%,50%"), Step: &step, Pause: ptr(true)}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Paused)
	assert.Contains(t, res.Paused, "dswap promote web")
	require.Len(t, res.Canary, 2)
	assert.Equal(t, "pass", res.Canary[0].Verdict)
	assert.Equal(t, "paused", res.Canary[1].Verdict)
	return w, cl
}

func TestAPausedCanaryStaysSplitUntilPromoteOrAbort(t *testing.T) {
	w, cl := pausedAt20(t)
	ctx := context.Background()
	assert.Equal(t, []string{
		"confirm web-canary=1 web-stable=3 weights=80/20 bridge-replicas=1",
		"confirm web-canary=1 web-stable=3 weights=50/50 bridge-replicas=1",
	}, cl.lines(), "stopped at the last weight; the bridge keeps its canary task")
	pc, ok, err := w.swapper().pausedCanary("web")
	require.NoError(t, err)
	require.True(t, ok, "the route file records the pause")
	assert.Equal(t, 50, pc.Weight)
	assert.Equal(t, []int{20, 50}, pc.Weights)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel, "the lock is released while paused")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "paused", entries[0].Result)

	for name, run := range map[string]func() error{
		"up": func() error {
			_, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v3", Service: "web"})
			return err
		},
		"sync": func() error { _, err := w.swapper().Sync(ctx, "web", swap.Overrides{}); return err },
		"up --force": func() error {
			_, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v1", Service: "web", Force: true})
			return err
		},
	} {
		err := run()
		require.ErrorIs(t, err, swap.ErrBadInput, name)
		assert.Contains(t, err.Error(), "paused canary", name)
	}
	synced, err := w.swapper().Keep(ctx, "web")
	require.NoError(t, err)
	assert.Nil(t, synced, "the keeper leaves a paused canary alone")
	assert.Len(t, cl.lines(), 2, "nothing was written meanwhile")
	assert.NotNil(t, w.cluster.byNameLocked(BridgeName("web")), "the bridge stays")
}

func TestPromoteScalesTheBridgeAndFinishesTheSwap(t *testing.T) {
	w, cl := pausedAt20(t)
	ctx := context.Background()
	res, err := w.canarySwapper(cl).Promote(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", res.ToImage)
	assert.Equal(t, []string{
		"confirm web-canary=1 web-stable=3 weights=80/20 bridge-replicas=1",
		"confirm web-canary=1 web-stable=3 weights=50/50 bridge-replicas=1",
		"scale bridge to 3",
		"confirm web=3 bridge-replicas=3",
		"update service to myapp:v2",
		"confirm web=3 bridge-replicas=3",
		"scale bridge to 0",
	}, cl.lines(), "no weight after 50%: the bridge scaled, then the swap from flip 1")
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "swapped", entries[1].Result)
	assert.Equal(t, "myapp:v1", entries[1].FromImage)

	_, err = w.swapper().Promote(ctx, "web", swap.Overrides{})
	require.ErrorIs(t, err, swap.ErrBadInput, "nothing paused any more")
}

func TestPromoteRunsTheWeightsAfterThePausedOne(t *testing.T) {
	w, cl := canaryWorld(t)
	ctx := context.Background()
	step := 10 * time.Millisecond
	_, err := w.canarySwapper(cl).Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Canary: ptr("20%"), Step: &step, Pause: ptr(true)}})
	require.NoError(t, err)
	res, err := w.canarySwapper(cl).Promote(ctx, "web", swap.Overrides{Canary: ptr("20%,60%"), Step: &step})
	require.NoError(t, err)
	require.Len(t, res.Canary, 1, "only the weight after the paused one")
	assert.Equal(t, 60, res.Canary[0].Weight)
	assert.Equal(t, "confirm web-canary=1 web-stable=3 weights=40/60 bridge-replicas=1", cl.lines()[1])
}

func TestAbortPutsAllTrafficBackThenRemovesTheBridge(t *testing.T) {
	w, cl := pausedAt20(t)
	ctx := context.Background()
	v1 := w.routedHosts(t)
	_, err := w.canarySwapper(cl).Abort(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"confirm web=3 absent=web-stable,web-canary bridge-replicas=1",
		"scale bridge to 0",
	}, cl.lines()[2:], "the route back on the service's tasks, confirmed, before the bridge was drained")
	assert.Subset(t, v1, w.routedHosts(t))
	assert.Len(t, w.routedHosts(t), 3)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "rolled-back", entries[1].Result)
	assert.Contains(t, entries[1].Reason, "dswap abort")

	_, err = w.swapper().Up(ctx, swap.Request{Image: "myapp:v3", Service: "web"})
	require.NoError(t, err, "nothing paused any more")
}
