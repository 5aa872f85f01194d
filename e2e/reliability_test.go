package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
)

// runDswapKilledAt runs dswap with JSON logs and kills it with SIGKILL as
// soon as a log line with msg appears. It reports whether it killed it.
func runDswapKilledAt(t *testing.T, msg string, args ...string) bool {
	t.Helper()
	signalled, _ := runDswapSignalledAt(t, syscall.SIGKILL, msg, args...)
	return signalled
}

// runDswapSignalledAt runs dswap with JSON logs and sends it sig as soon as
// a log line with msg appears. It returns whether it did, and the exit code.
func runDswapSignalledAt(t *testing.T, sig syscall.Signal, msg string, args ...string) (bool, dswapRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.dswap, append(args, "--output", "json")...)
	cmd.Env = withEnv(os.Environ(),
		"DSWAP_ROUTES_DIR="+suite.lab.RoutesDir,
		"DSWAP_TRAEFIK_API="+suite.lab.APIURL,
		"DSWAP_TRAEFIK_CONTAINER="+suite.lab.TraefikName,
	)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	sc := bufio.NewScanner(stderr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if !killed && strings.Contains(sc.Text(), `"msg":"`+msg+`"`) {
			require.NoError(t, cmd.Process.Signal(sig))
			killed = true
		}
	}
	run := dswapRun{stderr: strings.Join(lines, "\n")}
	var exit *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &exit) {
		run.code = exit.ExitCode()
	}
	t.Logf("dswap %s, %s at %q: %t, exit %d\n%s", strings.Join(args, " "), sig, msg, killed, run.code, run.stderr)
	return killed, run
}

// assertConsistent checks the invariants after any dswap command: exactly
// one container of the service runs, the route names exactly it, and no
// other container of the service is left.
func assertConsistent(t *testing.T, svc *service) string {
	t.Helper()
	cs := svc.containers(t)
	require.Len(t, cs, 1, "exactly one container is left: %v", cs)
	assert.Equal(t, "running", cs[0].State)
	rf, err := labels.ReadRouteFile([]byte(svc.routeFile(t)))
	require.NoError(t, err)
	assert.Equal(t, []string{cs[0].Name}, rf.Hosts(), "the route names exactly the running container")
	return cs[0].Image
}

// TestKilledAtEachPhase kills dswap with SIGKILL at each phase of a swap
// under load; the next dswap command finishes or undoes the swap, and no
// request fails throughout.
func TestKilledAtEachPhase(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		img       string
		oldEnv    []string
		// want is the version that serves afterwards: undone before the
		// flip, finished after it.
		want string
	}{
		{name: "after create", msg: "created", img: imgSlowReady, want: imgV1},
		{name: "waiting for health", msg: "starting and waiting for health", img: imgSlowReady, want: imgV1},
		{name: "right after the flip", msg: "traffic on new", img: imgV2, want: imgV2},
		{name: "during drain", msg: "stopping the old container(s)", img: imgV2, oldEnv: []string{"ON_SIGTERM=linger:3s"}, want: imgV2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := startService(t, "kill", serviceOpts{env: tc.oldEnv})
			ld := svc.load(t, 8, "delay=20ms")
			waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, ld.WaitVersion(waitCtx, "v1"))

			require.True(t, runDswapKilledAt(t, tc.msg, "up", image(tc.img), "--service", svc.name, "--drain", "10s"), "dswap was killed at %q", tc.msg)

			st := runDswap(t, "status", svc.name)
			require.Equal(t, 0, st.code, st.stderr)
			if tc.name != "during drain" { // the old container may already be gone then
				assert.Contains(t, st.stdout, "interrupted swap", "dswap status shows the interrupted swap")
			}

			// The next command for the service puts it right.
			run := runDswap(t, "sync", svc.name)
			require.Equal(t, 0, run.code, run.stderr)
			assert.Equal(t, image(tc.want), assertConsistent(t, svc))

			after := ld.Count()
			require.Eventually(t, func() bool { return ld.Count() > after+40 }, 30*time.Second, 10*time.Millisecond)
			rep := ld.Stop()
			t.Logf("load: %s", rep.Summary())
			assertNoFailedRequests(t, rep)
		})
	}
}

// TestConcurrentUps: two swaps of one service at once. The second waits
// for the lock or, with a short --lock-wait, fails naming the holder.
func TestConcurrentUps(t *testing.T) {
	svc := startService(t, "concurrent", serviceOpts{})
	var wg sync.WaitGroup
	var first dswapRun
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = runDswap(t, "up", image(imgSlowReady), "--service", svc.name, "--drain", "5s", "--output", "json")
	}()
	// Wait until the first holds the lock: its holder is written into the
	// lock file beside the route files.
	lockFile := filepath.Join(suite.lab.RoutesDir, ".dswap", svc.name+".lock")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(lockFile)
		return err == nil && strings.Contains(string(b), `"pid"`)
	}, 30*time.Second, 10*time.Millisecond)

	refused := runDswap(t, "up", image(imgV2), "--service", svc.name, "--lock-wait", "200ms", "--output", "json")
	assert.Equal(t, 3, refused.code, "exit code for a lock that was not acquired")
	assert.Contains(t, refused.result.Error, "another dswap is working on "+svc.name)
	assert.Contains(t, refused.result.Error, "pid ")

	waited := runDswap(t, "up", image(imgSlowReady), "--service", svc.name, "--output", "json")
	wg.Wait()
	require.Equal(t, 0, first.code, first.stderr)
	assert.Equal(t, "swapped", first.result.Result)
	require.Equal(t, 0, waited.code, waited.stderr)
	assert.Equal(t, "noop", waited.result.Result, "the second waited, then found the image already running")
	assert.Equal(t, image(imgSlowReady), assertConsistent(t, svc))
}

// TestMonitorRollsBack: a v2 whose health check starts failing 2 s after it
// took traffic (and which crashes 2 s later) is taken out of traffic within
// the --monitor window; v1, kept standing by, serves again.
func TestMonitorRollsBack(t *testing.T) {
	svc := startService(t, "monitor", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 8, "delay=20ms", image(imgGoesBad), "--drain", "5s", "--monitor", "15s")
	assert.Equal(t, 1, run.code, "a rolled-back swap must not exit 0")
	assert.Equal(t, "monitor", run.result.Phase)
	assert.Contains(t, run.result.Error, "failed its HEALTHCHECK test")
	assertNoFailedRequests(t, rep)
	assert.Positive(t, rep.ByVersion["v2"], "v2 served for a while")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))

	h := runDswap(t, "history", svc.name)
	require.Equal(t, 0, h.code, h.stderr)
	assert.Contains(t, h.stdout, "rolled-back")
}

// TestRollbackAfterSwap: dswap rollback goes back to the previous image by
// the same zero-downtime path, and history lists both swaps.
func TestRollbackAfterSwap(t *testing.T) {
	svc := startService(t, "rollback", serviceOpts{})
	up := svc.up(t, image(imgV2), "--drain", "5s")
	require.Equal(t, 0, up.code, up.stderr)

	ld := svc.load(t, 8, "delay=20ms")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v2"))
	back := runDswap(t, "rollback", svc.name, "--drain", "5s", "--output", "json")
	require.Equal(t, 0, back.code, back.stderr)
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() > after+40 }, 30*time.Second, 10*time.Millisecond)
	rep := ld.Stop()
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v1")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))

	h := runDswap(t, "history", svc.name)
	require.Equal(t, 0, h.code, h.stderr)
	assert.Equal(t, 2, strings.Count(h.stdout, "swapped"), h.stdout)
}

// TestRestarts: the route stays right when the active container restarts
// (it is routed by name) and when Traefik restarts in the middle of a swap.
func TestRestarts(t *testing.T) {
	svc := startService(t, "restart", serviceOpts{})
	done := make(chan dswapRun, 1)
	go func() { done <- svc.up(t, image(imgSlowReady), "--drain", "5s") }()
	// Restart Traefik while dswap waits for the new container's health.
	require.Eventually(t, func() bool {
		return len(svc.containers(t)) == 2
	}, 30*time.Second, 20*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, suite.lab.RestartTraefik(ctx))
	run := <-done
	require.Equal(t, 0, run.code, run.stderr)
	newName := run.result.New[0]
	assertServes(t, svc, "v2")

	dockerCLI(t, "restart", "--time", "5", newName)
	assertServes(t, svc, "v2")
	assert.Equal(t, image(imgSlowReady), assertConsistent(t, svc))
}

// assertServes waits until requests through Traefik get version and then
// checks a few in a row do.
func assertServes(t *testing.T, svc *service, version string) {
	t.Helper()
	ld := svc.load(t, 2, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(ctx, version))
	rep := ld.Stop()
	assert.Positive(t, rep.ByVersion[version])
}

// TestSignals: SIGTERM to dswap before the flip rolls back and exits 1;
// after the flip dswap finishes the drain and exits 0.
func TestSignals(t *testing.T) {
	t.Run("before the flip", func(t *testing.T) {
		svc := startService(t, "sigearly", serviceOpts{})
		sent, run := runDswapSignalledAt(t, syscall.SIGTERM, "starting and waiting for health", "up", image(imgSlowReady), "--service", svc.name)
		require.True(t, sent)
		assert.Equal(t, 1, run.code)
		assert.Contains(t, run.stderr, "undoing the swap")
		assert.Equal(t, image(imgV1), assertConsistent(t, svc), "nothing is left of the new version")
	})
	t.Run("after the flip", func(t *testing.T) {
		svc := startService(t, "siglate", serviceOpts{env: []string{"ON_SIGTERM=linger:2s"}})
		sent, run := runDswapSignalledAt(t, syscall.SIGTERM, "traffic on new", "up", image(imgV2), "--service", svc.name, "--drain", "10s")
		require.True(t, sent)
		assert.Equal(t, 0, run.code, "the drain finished")
		assert.Equal(t, image(imgV2), assertConsistent(t, svc))
	})
}
