package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
)

// TestCanaryAbortsSlowRelease: a v2 that passes its HEALTHCHECK but answers
// 300 ms late is taken out in the first step on its p99 (--max-p99 200ms),
// before the step's end: route back to v1 alone, v2 removed, exit 1 with
// the figures.
func TestCanaryAbortsSlowRelease(t *testing.T) {
	svc := startService(t, "canary-slow", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 4, "", image(imgSlow),
		"--canary", "5%,50%", "--step", "30s", "--max-p99", "200ms", "--min-requests", "20", "--drain", "5s")
	assert.Equal(t, 1, run.code, "a canary over its latency limit exits 1: %s", run.stderr)
	assert.Equal(t, "canary", run.result.Phase)
	assert.Regexp(t, `p99 [0-9.]+m?s > 200ms at 5%`, run.result.Error)
	require.Len(t, run.result.Canary, 1, "one step judged")
	st := run.result.Canary[0]
	assert.Equal(t, "fail", st.Verdict)
	assert.GreaterOrEqual(t, st.Requests, 20)
	t.Logf("slow canary: %s after %.2fs; %d requests reached v2 (p99 %s, v1's %s)", st.Reason, run.took.Seconds(), st.Requests, st.P99, st.StableP99)
	assert.Less(t, run.took, 30*time.Second, "taken out at a read, before the 30 s step ended")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "v2 removed; the route names v1 alone")
	assertNoFailedRequests(t, rep)
}

// assertCanaryLeftByAKill checks what a dswap killed during a canary step
// leaves: the weighted route without the paused line, and both versions.
func assertCanaryLeftByAKill(t *testing.T, svc *service) {
	t.Helper()
	file := svc.routeFile(t)
	assert.Contains(t, file, "weighted", "the kill left the split route")
	_, paused := labels.ReadPaused([]byte(file))
	assert.False(t, paused, "a step, not a pause")
	assert.Len(t, svc.containers(t), 2)
	st := runDswap(t, "status", svc.name)
	require.Equal(t, 0, st.code, st.stderr)
	assert.Contains(t, st.stdout, "interrupted swap", "dswap status shows the interrupted canary")
	assert.Contains(t, st.stdout, "canary at 10%")
}

// TestCanaryKilledDuringAStep: dswap SIGKILLed during a canary step leaves
// the route split with no pause recorded. The defined state that follows,
// whoever comes next, is the old version alone: the canary's containers
// removed and all the traffic back on v1, confirmed. The next dswap up
// does that first and then its own swap; the keeper of dswap serve does it
// when it starts. No request fails throughout.
func TestCanaryKilledDuringAStep(t *testing.T) {
	for _, next := range []string{"dswap up", "the keeper"} {
		t.Run(next, func(t *testing.T) {
			svc := startService(t, "canary-kill", serviceOpts{})
			ld := svc.load(t, 4, "")
			waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, ld.WaitVersion(waitCtx, "v1"))

			killed := runDswapKilledAt(t, "weights applied", "up", image(imgV2), "--service", svc.name, "--canary", "10%,50%", "--step", "30s", "--drain", "5s")
			require.True(t, killed, "dswap was killed during the first step")
			require.NoError(t, ld.WaitVersion(waitCtx, "v2"), "the canary took traffic before the kill")
			assertCanaryLeftByAKill(t, svc)

			switch next {
			case "dswap up":
				run := svc.up(t, image(imgV3), "--drain", "5s")
				require.Equal(t, 0, run.code, run.stderr)
				assert.Contains(t, run.stderr, svc.name+"-2", "the killed canary's container is named as undone")
				assert.Equal(t, image(imgV3), assertConsistent(t, svc), "the canary undone, then v3 swapped in")
			default:
				side := serveTCP(t)
				require.Eventually(t, func() bool {
					return len(svc.containers(t)) == 1 && !strings.Contains(svc.routeFile(t), "weighted")
				}, 60*time.Second, 200*time.Millisecond, "the keeper never undid the canary; its log:\n%s", side.logs)
				assert.Equal(t, image(imgV1), assertConsistent(t, svc), "all the traffic back on v1, the canary removed")
			}
			after := ld.Count()
			require.Eventually(t, func() bool { return ld.Count() > after+40 }, 30*time.Second, 10*time.Millisecond)
			rep := ld.Stop()
			t.Logf("load: %s", rep.Summary())
			assertNoFailedRequests(t, rep)
		})
	}
}

// TestMonitorRollsBackOnLatency: a plain swap (no canary) to a v2 that
// stays healthy but answers 300 ms late is rolled back within --monitor
// 30s by --max-p99 +50% (relative to v1's p99 before the flip), long
// before the window ends: exit 1, v1 serves alone again, and no request
// failed (the slow ones in flight finish: v2 is drained).
func TestMonitorRollsBackOnLatency(t *testing.T) {
	svc := startService(t, "monitor-slow", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 4, "", image(imgSlow), "--monitor", "30s", "--max-p99", "+50%", "--drain", "5s")
	assert.Equal(t, 1, run.code, "a release rolled back by its latency exits 1: %s", run.stderr)
	assert.Equal(t, "monitor", run.result.Phase)
	assert.Regexp(t, `p99 [0-9.]+m?s > [0-9.]+m?s \(the old version's [0-9.]+m?s \+50%\)`, run.result.Error)
	assert.Less(t, run.took, 25*time.Second, "rolled back on the latency, not at the end of the window")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "v2 removed; the route names v1 alone")
	t.Logf("monitor: %s; dswap took %.2fs", run.result.Error, run.took.Seconds())
	assertNoFailedRequests(t, rep)
}
