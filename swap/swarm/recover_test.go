package swarm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

func TestDecideRepair(t *testing.T) {
	bridge := []string{"10.0.1.7", "10.0.1.8"}
	service := []string{"10.0.1.1", "10.0.1.2"}
	for _, tc := range []struct {
		name       string
		haveBridge bool
		routed     []string
		split      bool
		want       repairAction
	}{
		{"no bridge", false, []string{"10.0.1.1"}, false, repairNone},
		{"route names the bridge: flip 1 done", true, []string{"10.0.1.7", "10.0.1.8"}, false, repairFinish},
		{"route names one bridge task (rescheduled meanwhile)", true, []string{"10.0.1.8", "10.0.1.9"}, false, repairFinish},
		{"route names the service: before flip 1 or after flip 2", true, []string{"10.0.1.1", "10.0.1.2"}, false, repairUndo},
		{"no route file", true, nil, false, repairUndo},
		{"weighted route naming the service and a bridge task: killed during a canary step", true, []string{"10.0.1.1", "10.0.1.2", "10.0.1.7"}, true, repairUnsplit},
		{"weighted route whose canary task was replaced meanwhile", true, []string{"10.0.1.1", "10.0.1.2", "10.0.1.9"}, true, repairUnsplit},
		{"weighted route but no bridge left", false, []string{"10.0.1.1", "10.0.1.7"}, true, repairNone},
		{"route names bridge and service tasks: killed between batches", true, []string{"10.0.1.7", "10.0.1.1", "10.0.1.2"}, false, repairUnmix},
		{"one of each, and a task gone since", true, []string{"10.0.1.8", "10.0.1.2", "10.0.1.9"}, false, repairUnmix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, decideRepair(tc.haveBridge, tc.routed, tc.split, bridge, service))
		})
	}
}

// crashAfter makes a world where a dswap was killed with the bridge of
// myapp:v2 running; routeBridge says whether it had flipped to it.
func crashAfter(t *testing.T, routeBridge bool) *world {
	t.Helper()
	w := newWorld(t)
	ctx := context.Background()
	s := w.swapper()
	_, err := s.Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	id, err := w.cluster.CreateSwarmService(ctx, bridgeSpec(svc, "myapp:v2"))
	require.NoError(t, err)
	if routeBridge {
		s := w.swapper()
		s.cfg = swap.Defaults
		p, err := s.routingPlan(ctx, svc, "myapp:v2")
		require.NoError(t, err)
		tasks, err := w.cluster.SwarmTasks(ctx, id)
		require.NoError(t, err)
		_, err = s.route(ctx, p, running(tasks, "myapp:v2"))
		require.NoError(t, err)
	}
	return w
}

func TestRepairFinishesASwapKilledAfterItsFirstFlip(t *testing.T) {
	w := crashAfter(t, true)
	ctx := context.Background()
	_, err := w.swapper().Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image, "the service was updated to the bridge's image")
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	tasks, err := w.cluster.SwarmTasks(ctx, svc.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, addresses(running(tasks, "myapp:v2")), w.routedHosts(t), "the route names the service's new tasks")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "recovered", entries[0].Result)
	assert.Equal(t, "myapp:v2", entries[0].ToImage)
}

func TestRepairUndoesASwapKilledBeforeItsFirstFlip(t *testing.T) {
	w := crashAfter(t, false)
	ctx := context.Background()
	routed := w.routedHosts(t)
	res, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v3", Service: "web"})
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", res.FromImage, "the killed swap changed nothing that served")
	assert.Contains(t, w.cluster.removed, BridgeName("web"))
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v3", svc.Image)
	assert.NotEqual(t, routed, w.routedHosts(t))
}

func TestAServiceNamedLikeTheBridgeButNotDswapsIsRefused(t *testing.T) {
	w := newWorld(t)
	spec := webSpec("other:v1")
	spec.Name = BridgeName("web")
	w.cluster.addService(spec)
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.ErrorIs(t, err, swap.ErrBadInput)
	assert.Contains(t, err.Error(), "did not create")
}
