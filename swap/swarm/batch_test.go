package swarm

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// batchWorld is a world whose service web runs replicas tasks of
// myapp:v1, routed; labels are added to the service's.
func batchWorld(t *testing.T, replicas int, labels ...string) *world {
	t.Helper()
	w := newWorld(t)
	w.cluster.mu.Lock()
	delete(w.cluster.services, w.svc.ID)
	w.cluster.mu.Unlock()
	spec := webSpec("myapp:v1")
	n := uint64(replicas)
	spec.Mode.Replicated.Replicas = &n
	for i := 0; i+1 < len(labels); i += 2 {
		spec.Labels[labels[i]] = labels[i+1]
	}
	w.svc = w.cluster.addService(spec)
	_, err := w.swapper().Sync(context.Background(), "web", swap.Overrides{})
	require.NoError(t, err)
	return w
}

// slotHosts are the addresses of the running tasks of service name, by
// slot.
func (w *world) slotHosts(t *testing.T, name string) map[int]string {
	t.Helper()
	svc, err := w.cluster.SwarmService(context.Background(), name)
	require.NoError(t, err)
	tasks, err := w.cluster.SwarmTasks(context.Background(), svc.ID)
	require.NoError(t, err)
	out := map[int]string{}
	for _, task := range runningAny(tasks) {
		out[task.Slot] = task.Addresses[traefikNet]
	}
	return out
}

func hostsOf(t *testing.T, urls []string) []string {
	t.Helper()
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		out = append(out, u.Hostname())
	}
	return out
}

func intP(n int) *int { return &n }

func TestUpInBatchesRoutesEachBatchThenFlipsAsWithoutBatches(t *testing.T) {
	for _, tc := range []struct {
		replicas, parallelism int
		// routes are the writes after the first sync: per write, how many
		// bridge tasks (first) and old tasks (then) it names.
		routes [][2]int
	}{
		{4, 2, [][2]int{{2, 2}, {4, 0}}},
		{3, 2, [][2]int{{2, 1}, {3, 0}}},
		{3, 1, [][2]int{{1, 2}, {2, 1}, {3, 0}}},
		{3, 0, [][2]int{{3, 0}}},
		{3, 5, [][2]int{{3, 0}}},
	} {
		t.Run(fmt.Sprintf("%d replicas, parallelism %d", tc.replicas, tc.parallelism), func(t *testing.T) {
			w := batchWorld(t, tc.replicas)
			ctx := context.Background()
			old := w.slotHosts(t, "web")
			require.Len(t, old, tc.replicas)
			// The bridge's tasks, by slot, when the service is updated:
			// the routes of the batches before named the same tasks.
			var bridge map[int]string
			w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
				if s.Name == "web" && s.Image == "myapp:v2" && bridge == nil {
					bridge = w.slotHosts(t, BridgeName("web"))
					assert.Len(t, bridge, tc.replicas, "the bridge runs every replica before the service is updated")
				}
			}
			w.traefik.applied = nil

			res, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Parallelism: intP(tc.parallelism)}})
			require.NoError(t, err)
			assert.Equal(t, "myapp:v2", res.ToImage)

			require.Len(t, w.traefik.applied, len(tc.routes)+1, "a route per batch, then flip 2: %v", w.traefik.applied)
			for i, want := range tc.routes {
				hosts := hostsOf(t, w.traefik.applied[i])
				require.Len(t, hosts, want[0]+want[1], "route %d names the replica count", i+1)
				var wantHosts []string
				for slot := 1; slot <= want[0]; slot++ {
					wantHosts = append(wantHosts, bridge[slot])
				}
				for slot := 1; slot <= want[1]; slot++ {
					wantHosts = append(wantHosts, old[slot]) // the lowest slots stay routed
				}
				assert.Equal(t, wantHosts, hosts, "route %d: the bridge's %d tasks, then the old tasks of slots 1 to %d", i+1, want[0], want[1])
			}
			last := hostsOf(t, w.traefik.applied[len(tc.routes)])
			assert.Len(t, last, tc.replicas)
			for _, h := range last {
				assert.NotContains(t, slices.Collect(maps.Values(bridge)), h)
				assert.NotContains(t, slices.Collect(maps.Values(old)), h)
			}

			svc, err := w.cluster.SwarmService(ctx, "web")
			require.NoError(t, err)
			assert.Equal(t, "myapp:v2", svc.Image)
			assert.Equal(t, uint64(tc.replicas), svc.Replicas, "the service is never scaled")
			assert.Equal(t, []string{BridgeName("web")}, w.cluster.removed)
		})
	}
}

// failingSlots makes the bridge's tasks of slots above from fail, as a
// second batch that never gets healthy.
type failingSlots struct {
	*fakeCluster
	from int
}

func (f failingSlots) SwarmTasks(ctx context.Context, id string) ([]engine.SwarmTask, error) {
	tasks, err := f.fakeCluster.SwarmTasks(ctx, id)
	f.mu.Lock()
	s := f.services[id]
	f.mu.Unlock()
	if s == nil || s.Name != BridgeName("web") {
		return tasks, err
	}
	for i, t := range tasks {
		if t.Slot > f.from && t.Running() {
			tasks[i].State, tasks[i].DesiredState, tasks[i].Err = "failed", "shutdown", "task: non-zero exit (137): dockerexec: unhealthy container"
		}
	}
	return tasks, err
}

func TestABatchThatFailsPutsTheRouteBackOnEveryOldTaskAndDrainsTheBridge(t *testing.T) {
	w := batchWorld(t, 4)
	ctx := context.Background()
	routed := w.routedHosts(t)
	old := w.slotHosts(t, "web")
	var drained *engine.SwarmService
	w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
		if s.Name == BridgeName("web") && s.Replicas == 0 {
			drained = s
		}
	}
	w.traefik.applied = nil
	s := w.swapper()
	s.Cluster = failingSlots{fakeCluster: w.cluster, from: 2}

	_, err := s.Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Parallelism: intP(2)}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhaseHealth, fe.Phase)
	assert.Contains(t, fe.Error(), "batch 2 of 2")
	assert.Contains(t, fe.Error(), "(slot 3) failed")
	assert.Contains(t, fe.Container, "web-dswap.3.")
	assert.Contains(t, fe.State, "unhealthy container")
	assert.Contains(t, fe.Kept, "myapp:v1 (service web) serves again on all its 4 tasks")
	assert.NoError(t, fe.RollbackErr)

	require.Len(t, w.traefik.applied, 2, "batch 1, then back on the old tasks")
	first := hostsOf(t, w.traefik.applied[0])
	assert.Len(t, first, 4)
	assert.Equal(t, []string{old[1], old[2]}, first[2:], "batch 1 kept the old tasks of slots 1 and 2")
	assert.ElementsMatch(t, []string{old[1], old[2], old[3], old[4]}, hostsOf(t, w.traefik.applied[1]), "the route went back to every old task")
	assert.Equal(t, routed, w.routedHosts(t))

	require.NotNil(t, drained, "the bridge served batch 1: it is drained, not killed")
	assert.Equal(t, "1s", drained.StopGracePeriod.String())
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel)
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "failed", entries[0].Result)
}

// refuseWrite refuses the nth write Traefik is asked to confirm (from 1).
type refuseWrite struct {
	*fakeTraefik
	n, seen int
}

func (r *refuseWrite) WaitApplied(ctx context.Context, exp traefik.Expectation, d time.Duration) (time.Duration, error) {
	r.seen++
	if r.seen == r.n {
		return 0, fmt.Errorf("Traefik did not show the route")
	}
	return r.fakeTraefik.WaitApplied(ctx, exp, d)
}

func TestAnUnconfirmedLastBatchPutsTheRouteBackOnEveryOldTask(t *testing.T) {
	w := batchWorld(t, 4)
	ctx := context.Background()
	routed := w.routedHosts(t)
	w.traefik.applied = nil
	s := w.swapper()
	s.Traefik = &refuseWrite{fakeTraefik: w.traefik, n: 2} // batch 1 confirmed, flip 1 not

	_, err := s.Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Parallelism: intP(2)}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhaseFlip, fe.Phase)
	assert.Contains(t, fe.Error(), "batch 2 of 2: moving the route to the bridge")
	assert.Contains(t, fe.Kept, "serves again on all its 4 tasks")
	assert.ElementsMatch(t, routed, w.routedHosts(t), "the route is back on the old tasks")
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
}

func TestRouteNotPutBackLeavesTheBridgeAndSaysHowToRepair(t *testing.T) {
	w := batchWorld(t, 4)
	w.traefik.applied = nil
	s := w.swapper()
	s.Cluster = failingSlots{fakeCluster: w.cluster, from: 2}
	s.Traefik = &refuseWrite{fakeTraefik: w.traefik, n: 2} // batch 1 confirmed, the way back not

	_, err := s.Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Parallelism: intP(2)}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	require.Error(t, fe.RollbackErr)
	assert.Contains(t, fe.Kept, "the route still names both versions")
	assert.Contains(t, fe.Kept, "dswap sync web")
	_, err = w.cluster.SwarmService(context.Background(), BridgeName("web"))
	assert.NoError(t, err, "the bridge serves: it stays")

	// The next dswap puts it right: route back on the old tasks, bridge
	// removed.
	_, err = w.swapper().Sync(context.Background(), "web", swap.Overrides{})
	require.NoError(t, err)
	old := w.slotHosts(t, "web")
	assert.ElementsMatch(t, []string{old[1], old[2], old[3], old[4]}, w.routedHosts(t))
	_, err = w.cluster.SwarmService(context.Background(), BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
}

func TestRepairUndoesASwapKilledBetweenBatches(t *testing.T) {
	w := batchWorld(t, 4)
	ctx := context.Background()
	old := w.slotHosts(t, "web")
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	// What a dswap killed after batch 1 leaves: a bridge of 2 tasks, the
	// route on them and on the old tasks of slots 1 and 2.
	id, err := w.cluster.CreateSwarmService(ctx, bridgeSpec(svc, "myapp:v2").Scaled(2))
	require.NoError(t, err)
	s := w.swapper()
	s.cfg = swap.Defaults
	p, err := s.routingPlan(ctx, svc, "myapp:v2")
	require.NoError(t, err)
	bridgeTasks, err := w.cluster.SwarmTasks(ctx, id)
	require.NoError(t, err)
	require.NoError(t, s.routeBatch(ctx, p, 1, 2, running(bridgeTasks, "myapp:v2")))
	require.Len(t, w.routedHosts(t), 4)
	require.Len(t, intersect(w.routedHosts(t), []string{old[1], old[2], old[3], old[4]}), 2)
	w.traefik.applied = nil

	_, err = w.swapper().Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	require.Len(t, w.traefik.applied, 1, "one write: back on the old tasks")
	assert.ElementsMatch(t, []string{old[1], old[2], old[3], old[4]}, hostsOf(t, w.traefik.applied[0]))
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound, "bridge drained and removed")
	svc, err = w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image, "undone, not finished")
	assert.Equal(t, old, w.slotHosts(t, "web"), "the old tasks never stopped")
}

func TestBatchSettingsASwarmSwapDoesNotDoAreRefused(t *testing.T) {
	pause, ratio, negative := "pause", 0.5, -1
	for name, over := range map[string]swap.Overrides{
		"failure action pause": {Parallelism: intP(1), FailureAction: &pause},
		"max failure ratio":    {Parallelism: intP(1), MaxFailureRatio: &ratio},
		"negative parallelism": {Parallelism: &negative},
	} {
		t.Run(name, func(t *testing.T) {
			w := batchWorld(t, 3)
			w.traefik.applied = nil
			_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: over})
			require.ErrorIs(t, err, swap.ErrBadInput)
			assert.Empty(t, w.traefik.applied, "nothing was routed")
			assert.Empty(t, w.cluster.removed, "no bridge was made")
		})
	}
}

func TestParallelismUnsetSwapsEveryReplicaInOneBatch(t *testing.T) {
	require.Equal(t, 1, swap.Defaults.Update.Parallelism, "the container path's default")
	w := batchWorld(t, 4)
	w.traefik.applied = nil
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Len(t, w.traefik.applied, 2, "flip 1 and flip 2 only: the bridge took every replica at once")
}
