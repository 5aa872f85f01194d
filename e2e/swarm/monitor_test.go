package swarm

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// TestSwarmMonitorRollsBackABadReleaseThenLetsAGoodOneFinish runs
// --monitor on a 3-replica Swarm service under load: a release that
// passes its HEALTHCHECK but answers 500 to one request in five takes all
// the traffic at flip 1, is judged on Traefik's metrics within the window
// and rolled back: the route goes back to the service's old tasks, which
// stood by, the bridge is removed, the service still runs v1, dswap exits
// 1 and the history says rolled-back. A release whose health check starts
// failing after flip 1 is rolled back the same way once Swarm stops its
// task. Then a good v2 passes its window and the swap finishes with
// nothing failed.
func TestSwarmMonitorRollsBackABadReleaseThenLetsAGoodOneFinish(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 1})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v1, v2 := buildVersions(ctx, t, s)
	bad := s.Prefix + "-app:bad"
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: bad, Version: "bad", Env: map[string]string{"FAIL_RATE": "0.2"}}))
	sick := s.Prefix + "-app:sick"
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: sick, Version: "sick", Env: map[string]string{"FAIL_AFTER": "20s"}}))
	// Swarm's own update of the service after the window (one task at a
	// time) watches each new task for --update-monitor: 1 s keeps the
	// test short; it is not dswap's window.
	app := createService(t, s, v1, 3, "--update-monitor", "1s")
	adopt := runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, adopt.code, adopt.stderr)
	v1Tasks := urlsOf(awaitTasks(t, s, app.name, 3, time.Minute))
	awaitRouted(t, s, app.name, v1Tasks, 30*time.Second)

	monitorUnderLoad := func(args ...string) (dswapRun, *loadgen.Report, int, []string) {
		t.Helper()
		return dswapUnderLoad(t, bin, s, app, args...)
	}

	// A bad release: caught by its error rate within the window.
	run, rep, fewest, sets := monitorUnderLoad("up", bad, "--service", app.name, "--monitor", "20s", "--max-error-rate", "1%")
	assert.Equal(t, 1, run.code, "a release rolled back by its monitor exits 1: %s", run.stderr)
	assert.Regexp(t, `the new version's error rate [0-9.]+% \([0-9]+ of [0-9]+\) > 1% at 100% within the --monitor window of 20s`, run.stderr)
	assert.Contains(t, run.stderr, "serves again on all its 3 tasks")
	caught := regexp.MustCompile(`caught ([0-9.]+m?s) after flip 1`).FindStringSubmatch(run.stderr)
	require.NotNil(t, caught, "dswap says when it caught the breach")
	after, err := time.ParseDuration(caught[1])
	require.NoError(t, err)
	assert.Less(t, after, 20*time.Second, "caught within the window, not at its end")
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.NotContains(t, docker(t, s, "service", "inspect", "--format", "{{json .Spec.Labels}}", app.name), "dswap.lock")
	assert.Equal(t, strings.Join(sortedCopy(v1Tasks), ","), sets[len(sets)-1], "the route names the same 3 v1 tasks, which stood by")
	assert.GreaterOrEqual(t, fewest, 3)
	requests, failed, window := canaryWindow(rep, "bad")
	require.Positive(t, requests, "the bad release took traffic")
	assert.Equal(t, failed, rep.Failed, "every failure falls while the bad release had the traffic")
	// One in five while it had all the traffic; the margin covers the
	// round robin's phase.
	assert.LessOrEqual(t, failed, int(float64(requests)*0.2*1.5)+5)
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	t.Logf("bad release: caught %s after flip 1 (dswap took %s); it answered for %s: %d requests, %d failed (%d of %d in the whole run); %d answered by it",
		after, run.took.Round(time.Millisecond), window.Round(time.Millisecond), requests, failed, rep.Failed, rep.Total, rep.ByVersion["bad"])
	h := runDswap(t, bin, s, "history", app.name)
	require.Zero(t, h.code, h.stderr)
	assert.Contains(t, h.stdout, "rolled-back")

	// A release whose tasks turn unhealthy 20 s after they are ready,
	// after flip 1: Swarm stops such a task, which is a breach.
	run, rep, _, sets = monitorUnderLoad("up", sick, "--service", app.name, "--monitor", "45s")
	assert.Equal(t, 1, run.code, "a release rolled back by its monitor exits 1: %s", run.stderr)
	assert.Contains(t, run.stderr, "failed during monitor: a task of the bridge stopped running")
	assert.Contains(t, run.stderr, "serves again on all its 3 tasks")
	caught = regexp.MustCompile(`caught ([0-9.]+m?s) after flip 1`).FindStringSubmatch(run.stderr)
	require.NotNil(t, caught, "dswap says when it caught the breach")
	afterSick, err := time.ParseDuration(caught[1])
	require.NoError(t, err)
	assert.Less(t, afterSick, 45*time.Second, "caught within the window, not at its end")
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.Equal(t, strings.Join(sortedCopy(v1Tasks), ","), sets[len(sets)-1], "the route names the same 3 v1 tasks, which stood by")
	t.Logf("unhealthy release: caught %s after flip 1 (dswap took %s); %d of %d requests failed, %d hung; %d answered by it: %s",
		afterSick, run.took.Round(time.Millisecond), rep.Failed, rep.Total, rep.Hung, rep.ByVersion["sick"], describe(append(rep.Failures(), rep.HungResults()...)))

	// A good v2: the window passes, the swap finishes.
	run, rep, fewest, _ = monitorUnderLoad("up", v2, "--service", app.name, "--monitor", "5s", "--max-error-rate", "1%")
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stdout, "now runs "+v2)
	assert.Contains(t, run.stderr, "stayed up through the monitor window")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Positive(t, rep.ByVersion["v2"])
	assert.GreaterOrEqual(t, fewest, 3)
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
