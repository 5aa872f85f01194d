package swarm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/server"
)

// TestSwarmReleaseTasksUnderLoadOnOneNode runs --pre and --post on a
// 3-replica Swarm service under load, as one-off services of the new
// image (whose /bin/sh is the test app, see testapp's shell.go):
//
//   - a pre task exiting 3: exit 1 with its output, the service still on
//     v1, no bridge and no task service left, nothing failed;
//   - a pre task that prints and a post task: the swap is done, nothing
//     failed, both tasks with their output in the --output json result
//     (the pre task printed the VERSION of the new image: it ran v2);
//   - a post task exiting 1 with --post-failure rollback: the route goes
//     back to the service's v2 tasks, which stood by, the bridge is gone,
//     nothing failed;
//   - a dswap killed during a pre task, once it printed the task's output
//     line live: the next dswap sync removes the task's service, which
//     stops its container.
func TestSwarmReleaseTasksUnderLoadOnOneNode(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 1})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v1, v2, v3 := s.Prefix+"-app:v1", s.Prefix+"-app:v2", s.Prefix+"-app:v3"
	for _, img := range []lab.AppImage{{Tag: v1, Version: "v1", Shell: true}, {Tag: v2, Version: "v2", Shell: true}, {Tag: v3, Version: "v3", Shell: true}} {
		require.NoError(t, s.BuildApp(ctx, img))
	}
	app := createService(t, s, v1, 3)
	adopt := runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, adopt.code, adopt.stderr)
	awaitRouted(t, s, app.name, urlsOf(awaitTasks(t, s, app.name, 3, time.Minute)), 30*time.Second)

	swapUnderLoad := func(args ...string) (dswapRun, *loadgen.Report, int) {
		t.Helper()
		run, rep, fewest, _ := dswapUnderLoad(t, bin, s, app, args...)
		return run, rep, fewest
	}
	leftover := func() []string {
		t.Helper()
		var out []string
		for _, n := range strings.Fields(docker(t, s, "service", "ls", "--format", "{{.Name}}")) {
			if strings.HasPrefix(n, app.name+"-") {
				out = append(out, n)
			}
		}
		return out
	}

	// A failing pre task: nothing changes.
	run, rep, fewest := swapUnderLoad("up", v2, "--service", app.name, "--pre", "echo migrating schema of $VERSION && exit 3")
	assert.Equal(t, 1, run.code, run.stderr)
	assert.Contains(t, run.stderr, "exited with code 3")
	assert.Contains(t, run.stderr, "migrating schema of v2", "the task's output, from the new image")
	assert.Contains(t, run.stderr, "no bridge service was created")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Equal(t, rep.Total, rep.ByVersion["v1"], "only v1 answered")
	assert.GreaterOrEqual(t, fewest, 3)
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.Empty(t, leftover(), "no bridge and no task service left")

	// Pre and post tasks that succeed, in the JSON result.
	run, rep, fewest = swapUnderLoad("up", v2, "--service", app.name, "--output", "json",
		"--pre", "echo pre-ran on $VERSION", "--post", "echo post-ran on $VERSION && exit 0")
	require.Zero(t, run.code, run.stderr)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Greater(t, rep.ByVersion["v2"], 0)
	assert.GreaterOrEqual(t, fewest, 3)
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.Empty(t, leftover(), "no bridge and no task service left")
	var out server.Outcome
	lines := strings.Split(strings.TrimSpace(run.stdout), "\n")
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &out), run.stdout)
	assert.Equal(t, "swapped", out.Result)
	if assert.Len(t, out.Tasks, 2, "%+v", out.Tasks) {
		assert.Equal(t, "pre", out.Tasks[0].Stage)
		assert.Equal(t, 0, out.Tasks[0].ExitCode)
		assert.Equal(t, []string{"pre-ran on v2"}, out.Tasks[0].Output)
		assert.Equal(t, "post", out.Tasks[1].Stage)
		assert.Equal(t, 0, out.Tasks[1].ExitCode)
		assert.Equal(t, []string{"post-ran on v2"}, out.Tasks[1].Output)
		t.Logf("tasks took %.2fs (pre) and %.2fs (post); whole swap %.2fs", out.Tasks[0].Seconds, out.Tasks[1].Seconds, out.TotalSeconds)
	}
	history := runDswap(t, bin, s, "history", app.name, "--output", "json")
	assert.Contains(t, history.stdout, "pre-ran on v2", "the history carries the tasks")

	// A failing post task with --post-failure rollback: back on the v2
	// tasks, which stood by unrouted.
	before := urlsOf(awaitTasks(t, s, app.name, 3, time.Minute))
	run, rep, fewest = swapUnderLoad("up", v3, "--service", app.name, "--post", "echo warming && exit 1", "--post-failure", "rollback")
	assert.Equal(t, 1, run.code, run.stderr)
	assert.Contains(t, run.stderr, "exited with code 1")
	assert.Contains(t, run.stderr, "serves again on all its 3 tasks")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.GreaterOrEqual(t, fewest, 3)
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	awaitRouted(t, s, app.name, before, 10*time.Second)
	assert.Empty(t, leftover(), "no bridge and no task service left")
	t.Logf("answers by version during the rolled-back swap: %v", rep.ByVersion)

	// A dswap killed while its pre task runs leaves the task's service,
	// its task running; the next dswap of the service removes it, which
	// stops the task. dswap is killed once it printed the line the task
	// printed, which it can only have done live: the task sleeps for 2
	// minutes after it.
	require.True(t, killDswapAt(t, bin, s, "sleeping 2m0s", "up", v3, "--service", app.name, "--pre", "task sleep 120s"), "dswap never printed its task's output while the task ran")
	assert.Equal(t, []string{app.name + "-dswap-pre-1"}, leftover(), "the killed dswap left its task's service")
	running := func() string {
		return docker(t, s, "ps", "--quiet", "--filter", "label=dswap.task.service="+app.name)
	}
	require.Eventually(t, func() bool { return running() != "" }, time.Minute, 250*time.Millisecond, "the left task never ran")
	status := runDswap(t, bin, s, "status", app.name, "--output", "json")
	require.Zero(t, status.code, status.stderr)
	assert.Contains(t, status.stdout, `"name":"`+app.name+`-dswap-pre-1.1"`, "dswap status lists the left task")
	run = runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stderr, "removing a release task an interrupted swap left")
	assert.Empty(t, leftover(), "the task's service is removed")
	removed := time.Now()
	require.Eventually(t, func() bool { return running() == "" }, time.Minute, 250*time.Millisecond, "the left task's container still runs")
	t.Logf("the left task's container stopped %s after dswap sync removed its service", time.Since(removed).Round(100*time.Millisecond))
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	awaitRouted(t, s, app.name, before, 10*time.Second)
}
