package swarm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/traefik"
)

// startKeeper runs `dswap keep` against the Swarm's manager until the test
// ends, and returns its output so far on demand.
func startKeeper(t *testing.T, bin string, s *lab.Swarm) output {
	t.Helper()
	return startDswap(t, bin, s, nil, "keep")
}

// routedServers are the servers Traefik's API shows for service@file.
func routedServers(t *testing.T, s *lab.Swarm, service string) []string {
	t.Helper()
	api, err := traefik.NewAPI(s.TraefikAPI)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rt, err := api.Runtime(ctx)
	if err != nil {
		return nil
	}
	urls := rt.Services[service+"@file"].ServerURLs()
	sort.Strings(urls)
	return urls
}

// TestSwarmOnThreeNodes swaps a service whose tasks are spread over three
// Engines under load (nothing may fail), then stops the Engine of a worker
// that runs a task: Swarm reschedules it, dswap keep's route follows, and
// the failed requests are counted and reported.
func TestSwarmOnThreeNodes(t *testing.T) {
	s, bin, _, v2, app := routedSwarm(t, 3, 3)
	startKeeper(t, bin, s)

	sampler := sampleRoute(t, s, app.name)
	stop := load(t, s, app, 4*time.Minute)
	time.Sleep(time.Second)
	run := runDswap(t, bin, s, "up", v2, "--service", app.name)
	time.Sleep(time.Second)
	rep := stop()
	fewest, samples, _, sets := sampler.finish()
	t.Logf("3 nodes, dswap up %s: %s; Traefik sampled %d times, fewest servers %d, sets %q", v2, rep.Summary(), samples, fewest, sets)
	require.Zero(t, run.code, run.stderr)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.GreaterOrEqual(t, fewest, 3)
	stopWorkerUnderLoad(t, s, app)
}

// workerDown is what stopping a worker under load cost.
type workerDown struct {
	// followed is how long the route took to leave the stopped node's
	// task, from the stop.
	followed time.Duration
	// total, failed and hung are the load's requests from the stop until
	// the route followed (and a moment after).
	total, failed, hung int
	// at is when the worker's Engine was told to stop; failures are the
	// failed requests.
	at       time.Time
	failures []loadgen.Result
}

// stopWorkerUnderLoad stops the Engine of a worker that runs one of the
// app's 3 tasks while clients load it, waits until the keeper's route has
// left that task, and reports the requests that failed or hung meanwhile.
// Once the route followed, nothing may fail.
func stopWorkerUnderLoad(t *testing.T, s *lab.Swarm, app swarmApp) workerDown {
	t.Helper()
	tasks := awaitTasks(t, s, app.name, 3, time.Minute)
	victim := -1
	var victimAddr string
	for _, task := range tasks {
		if i := s.NodeIndex(task.NodeID); i > 0 && victim < 0 {
			victim, victimAddr = i, task.Addr
		}
	}
	t.Logf("the service's tasks run on %d nodes: %+v", nodesOf(tasks), tasks)
	assert.GreaterOrEqual(t, nodesOf(tasks), 2, "tasks spread over the nodes")
	require.Positive(t, victim, "no task on a worker to take down")

	stop := load(t, s, app, 3*time.Minute)
	time.Sleep(2 * time.Second)
	downAt := time.Now()
	require.NoError(t, s.StopNode(victim))
	var followedAt time.Time
	require.Eventually(t, func() bool {
		got := routedServers(t, s, app.name)
		if len(got) == 0 || strings.Contains(strings.Join(got, ","), "http://"+victimAddr+":") {
			return false
		}
		followedAt = time.Now()
		return true
	}, 3*time.Minute, 100*time.Millisecond, "the route never left the stopped node's task %s", victimAddr)
	rep := stop()
	out := workerDown{followed: followedAt.Sub(downAt), total: rep.Total, failed: rep.Failed, hung: rep.Hung, at: downAt, failures: rep.Failures()}
	t.Logf("worker %d stopped: the route left its task after %s (Swarm declared the node down and rescheduled; the keeper polls every second); load meanwhile: %s; failed by status: %s; failures by start, from the stop: %s; servers now %v",
		victim, out.followed.Round(time.Millisecond), rep.Summary(), statusCounts(rep), failureSpans(out.failures, downAt), routedServers(t, s, app.name))
	// Once the route followed, nothing fails.
	stop = load(t, s, app, 10*time.Second)
	time.Sleep(8 * time.Second)
	rep = stop()
	t.Logf("after the route followed: %s", rep.Summary())
	assert.Zero(t, rep.Failed, "requests failed after the route followed: %s", describe(rep.Failures()))
	assert.Greater(t, rep.Total, 100)
	return out
}

func statusCounts(rep *loadgen.Report) string {
	var parts []string
	for code, n := range rep.ByStatus {
		parts = append(parts, fmt.Sprintf("status %d: %d", code, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
