package swarm

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// routeKind names a server set Traefik showed by where its servers run:
// "4 old", "2 old + 2 bridge", "4 bridge", "4 new"; servers of none of
// those are counted as "other".
func routeKind(set string, old, news []string) string {
	counts := map[string]int{}
	for _, u := range strings.Split(set, ",") {
		switch {
		case u == "":
		case slices.Contains(old, u):
			counts["old"]++
		case slices.Contains(news, u):
			counts["new"]++
		default:
			// Neither the service's tasks before the swap nor after it:
			// the bridge's (the only other tasks on the network).
			counts["bridge"]++
		}
	}
	var parts []string
	for _, k := range []string{"old", "bridge", "new"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	return strings.Join(parts, " + ")
}

// TestSwarmUpInBatchesUnderLoadOnOneNode swaps a 4-replica Swarm service
// with --parallelism 2 under load: nothing fails or hangs, Traefik never
// routes fewer than 4 servers, and the route goes through exactly one
// mixed set, 2 old tasks and 2 bridge tasks, before all 4 bridge tasks
// (flip 1), then the service's 4 new tasks (flip 2).
func TestSwarmUpInBatchesUnderLoadOnOneNode(t *testing.T) {
	upInBatchesUnderLoad(t, 1)
}

// TestSwarmUpInBatchesUnderLoadOnThreeNodes is the same swap on a Swarm of
// three Engines, the tasks (old, bridge and new) spread over them by Swarm:
// the route names tasks on other hosts than Traefik's.
func TestSwarmUpInBatchesUnderLoadOnThreeNodes(t *testing.T) {
	upInBatchesUnderLoad(t, 3)
}

func upInBatchesUnderLoad(t *testing.T, nodes int) {
	s, bin, _, v2, app := routedSwarm(t, nodes, 4)
	oldTasks := awaitTasks(t, s, app.name, 4, time.Minute)
	old := urlsOf(oldTasks)
	awaitRouted(t, s, app.name, old, 30*time.Second)

	sampler := sampleRoute(t, s, app.name)
	stop := load(t, s, app, 3*time.Minute)
	time.Sleep(time.Second) // load before the swap starts
	run := runDswap(t, bin, s, "up", v2, "--service", app.name, "--parallelism", "2")
	time.Sleep(time.Second) // and after it ended
	rep := stop()
	fewest, samples, errs, sets := sampler.finish()
	newTasks := awaitTasks(t, s, app.name, 4, time.Minute)
	news := urlsOf(newTasks)

	var kinds []string
	for _, set := range sets {
		kinds = append(kinds, routeKind(set, old, news))
	}
	t.Logf("dswap up --parallelism 2 on %d node(s): %s; Traefik API sampled %d times (%d errors), fewest servers %d, server sets in order: %q; old tasks on %d node(s), new on %d",
		nodes, rep.Summary(), samples, errs, fewest, kinds, nodesOf(oldTasks), nodesOf(newTasks))

	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stdout, "now runs "+v2)
	assert.Contains(t, run.stderr, "batch 1 of 2")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Greater(t, rep.ByVersion["v1"], 0)
	assert.Greater(t, rep.ByVersion["v2"], 0)
	assert.GreaterOrEqual(t, fewest, 4, "Traefik routed fewer than 4 servers at some point")
	assert.Equal(t, []string{"4 old", "2 old + 2 bridge", "4 bridge", "4 new"}, kinds,
		"the route went: the old tasks, batch 1 (2 old + 2 bridge), flip 1 (the bridge), flip 2 (the service's new tasks)")
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.Equal(t, "4", docker(t, s, "service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", app.name), "the service was never scaled")
	if nodes > 1 {
		assert.GreaterOrEqual(t, nodesOf(oldTasks), 2, "the old tasks spread over the nodes")
		assert.GreaterOrEqual(t, nodesOf(newTasks), 2, "the new tasks spread over the nodes")
	}
}

// nodesOf counts the nodes tasks run on.
func nodesOf(tasks []lab.Task) int {
	nodes := map[string]bool{}
	for _, task := range tasks {
		nodes[task.NodeID] = true
	}
	return len(nodes)
}

// TestSwarmSwapInBatchesKilledBetweenBatchesIsUndoneByTheNextDswap: a
// dswap killed after its first batch leaves the route on 2 old tasks and 2
// bridge tasks; the next dswap sync puts the route back on the 4 old
// tasks (confirmed), drains and removes the bridge, with nothing failed
// under load and the service still on v1.
func TestSwarmSwapInBatchesKilledBetweenBatchesIsUndoneByTheNextDswap(t *testing.T) {
	s, bin, v1, v2, app := routedSwarm(t, 1, 4)
	old := urlsOf(awaitTasks(t, s, app.name, 4, time.Minute))
	awaitRouted(t, s, app.name, old, 30*time.Second)

	sampler := sampleRoute(t, s, app.name)
	stop := load(t, s, app, 3*time.Minute)
	require.True(t, killDswapAt(t, bin, s, "batch 2 of 2", "up", v2, "--service", app.name, "--parallelism", "2"), "dswap never reached its second batch")
	assert.True(t, serviceExists(t, s, app.name+"-dswap"), "the killed dswap left its bridge")

	run := runDswap(t, bin, s, "sync", app.name)
	rep := stop()
	fewest, samples, errs, sets := sampler.finish()
	var kinds []string
	for _, set := range sets {
		kinds = append(kinds, routeKind(set, old, nil))
	}
	t.Logf("dswap killed between batches, then dswap sync, under load: %s; Traefik API sampled %d times (%d errors), fewest servers %d, server sets in order: %q",
		rep.Summary(), samples, errs, fewest, kinds)
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stderr, "interrupted swap undone")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.GreaterOrEqual(t, fewest, 4)
	assert.Equal(t, []string{"4 old", "2 old + 2 bridge", "4 old"}, kinds, "batch 1, then back on the old tasks")
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.NotContains(t, docker(t, s, "service", "inspect", "--format", "{{json .Spec.Labels}}", app.name), "dswap.lock")
	assert.ElementsMatch(t, old, urlsOf(awaitTasks(t, s, app.name, 4, time.Minute)), "the old tasks never stopped")
}
