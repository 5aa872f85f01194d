package swarm

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// killDswapAt runs dswap and kills it (SIGKILL) as soon as a line of its
// log contains msg; it reports whether it got there.
func killDswapAt(t *testing.T, bin string, s *lab.Swarm, msg string, args ...string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = dswapEnv(s)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		t.Log("dswap (to be killed): " + sc.Text())
		if !killed && strings.Contains(sc.Text(), msg) {
			require.NoError(t, cmd.Process.Kill())
			killed = true
		}
	}
	_ = cmd.Wait()
	return killed
}

// TestSwarmSwapKilledAfterItsFirstFlipIsFinishedByTheNextDswap: a dswap
// killed once the bridge serves leaves the bridge and its lock; the next
// dswap sync takes the lock over (its holder is gone), updates the
// service, routes it and removes the bridge, with nothing failed.
func TestSwarmSwapKilledAfterItsFirstFlipIsFinishedByTheNextDswap(t *testing.T) {
	s, bin, _, v2, app := routedSwarm(t, 1, 3)

	stop := load(t, s, app, 4*time.Minute)
	require.True(t, killDswapAt(t, bin, s, "updating the service to the new image", "up", v2, "--service", app.name), "dswap never reached the service's update")
	assert.True(t, serviceExists(t, s, app.name+"-dswap"), "the killed dswap left its bridge")
	assert.Contains(t, docker(t, s, "service", "inspect", "--format", "{{json .Spec.Labels}}", app.name), "dswap.lock", "and its lock")

	run := runDswap(t, bin, s, "sync", app.name)
	rep := stop()
	t.Logf("dswap killed after its first flip, then dswap sync, under load: %s", rep.Summary())
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stderr, "interrupted swap finished")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.NotContains(t, docker(t, s, "service", "inspect", "--format", "{{json .Spec.Labels}}", app.name), "dswap.lock")
	awaitRouted(t, s, app.name, urlsOf(awaitTasks(t, s, app.name, 3, time.Minute)), 30*time.Second)
	hist := runDswap(t, bin, s, "history", app.name)
	assert.Contains(t, hist.stdout, "recovered")
}
