package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/server"
)

// labEnv points a dswap process (here a keeper) at the lab's Traefik.
func labEnv() []string {
	return []string{"DSWAP_ROUTES_DIR=" + suite.lab.RoutesDir, "DSWAP_TRAEFIK_API=" + suite.lab.APIURL, "DSWAP_TRAEFIK_CONTAINER=" + suite.lab.TraefikName}
}

// assertPaused checks that the service still runs its paused canary: two
// containers, and a weighted route file that records the pause.
func assertPaused(t *testing.T, svc *service) {
	t.Helper()
	assert.Len(t, svc.containers(t), 2, "the old and the canary container both run")
	file := svc.routeFile(t)
	assert.Contains(t, file, "weighted")
	assert.Contains(t, file, "# dswap-canary: paused")
}

// TestCanaryPauseThenPromote: --canary 10% --pause stops at 10% and exits
// 0 with the route split; the keeper (dswap keep) and a second dswap up
// leave it as it is; dswap promote goes on through a 50% step to the full
// flip and drains v1; no request fails throughout.
func TestCanaryPauseThenPromote(t *testing.T) {
	svc := startService(t, "canary-pause", serviceOpts{})
	ld := svc.load(t, 4, "")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"), "load never reached v1 through Traefik")

	run := svc.up(t, image(imgV2), "--canary", "10%", "--pause", "--drain", "5s")
	require.Equal(t, 0, run.code, "a paused canary exits 0: %s", run.stderr)
	assert.Equal(t, "paused", run.result.Result)
	assertPaused(t, svc)
	require.NoError(t, ld.WaitVersion(waitCtx, "v2"), "the canary never served a request")
	assertLiveCanaryStatus(t, svc, 10)

	k := startKeeper(t, labEnv())
	require.Eventually(t, func() bool {
		out := k.output()
		return strings.Contains(out, svc.name) && strings.Contains(out, "upkeep=paused")
	}, 30*time.Second, 100*time.Millisecond, "the keeper never looked at the paused service")
	assertPaused(t, svc)

	again := svc.up(t, image(imgV2), "--force")
	assert.Equal(t, 2, again.code, "up refuses a paused service")
	assert.Contains(t, again.result.Error, "paused canary")
	assertPaused(t, svc)

	promote := runDswap(t, "promote", svc.name, "--canary", "10%,50%", "--step", "3s", "--drain", "5s", "--output", "json")
	require.Equal(t, 0, promote.code, promote.stderr)
	assert.Contains(t, promote.stderr, "50% of the traffic on the new version")
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+16 }, 30*time.Second, 10*time.Millisecond, "load stopped after the promotion")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	assertNoFailedRequests(t, rep)
	assert.Equal(t, image(imgV2), assertConsistent(t, svc), "v1 drained; the route names v2 alone")
	assert.NotContains(t, svc.routeFile(t), "weighted")
}

// assertLiveCanaryStatus checks that dswap status shows the service's
// canary at weight with live figures from Traefik: both versions answered
// requests, none failed.
func assertLiveCanaryStatus(t *testing.T, svc *service, weight int) {
	t.Helper()
	st := runDswap(t, "status", svc.name, "--output", "json")
	require.Equal(t, 0, st.code, st.stderr)
	var got []server.ServiceStatus
	require.NoError(t, json.Unmarshal([]byte(st.stdout), &got), st.stdout)
	require.Len(t, got, 1)
	cv := got[0].Canary
	require.NotNil(t, cv, "dswap status shows the canary: %s", st.stdout)
	assert.Equal(t, weight, cv.Weight)
	assert.True(t, cv.Paused)
	require.Empty(t, cv.MetricsError)
	require.NotNil(t, cv.Canary)
	require.NotNil(t, cv.Stable)
	t.Logf("dswap status over %.2fs: new %.1f req/s, %.1f%% errors; old %.1f req/s, %.1f%% errors", cv.Window, cv.Canary.RequestsPerSecond, cv.Canary.ErrorRate*100, cv.Stable.RequestsPerSecond, cv.Stable.ErrorRate*100)
	assert.Positive(t, cv.Canary.RequestsPerSecond)
	assert.Greater(t, cv.Stable.RequestsPerSecond, cv.Canary.RequestsPerSecond, "the old version gets %d%%", 100-weight)
	assert.Zero(t, cv.Canary.Errors)
	assert.NotNil(t, cv.Canary.P99)

	text := runDswap(t, "status", svc.name)
	require.Equal(t, 0, text.code, text.stderr)
	assert.Contains(t, text.stdout, fmt.Sprintf("%s: canary at %d%%", svc.name, weight))
	assert.Contains(t, text.stdout, "REQ/S")
}

// versionOf asks the service once through Traefik with client.
func versionOf(t *testing.T, client *http.Client, svc *service) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, suite.lab.WebURL+"/", nil)
	require.NoError(t, err)
	req.Host = svc.host
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return strings.TrimSpace(string(body))
}

// TestCanaryStickyPauseThenAbort: during a paused 50% canary with --sticky,
// a client holding Traefik's cookies sees one version across 50 requests
// (one without cookies sees both); dswap abort puts all the traffic back
// on v1, confirmed, and removes v2.
func TestCanaryStickyPauseThenAbort(t *testing.T) {
	svc := startService(t, "canary-abort", serviceOpts{})
	run := svc.up(t, image(imgV2), "--canary", "50%", "--pause", "--sticky", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assertPaused(t, svc)

	plain := &http.Client{Timeout: 10 * time.Second}
	seen := map[string]int{}
	for range 50 {
		seen[versionOf(t, plain, svc)]++
	}
	assert.Len(t, seen, 2, "without the cookie, both versions answer at 50%%: %v", seen)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	// The cookie jar keys cookies by the URL's host, which is the lab's
	// address for every request, so it holds this service's cookies.
	sticky := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	first := versionOf(t, sticky, svc)
	same := 0
	for range 50 {
		if versionOf(t, sticky, svc) == first {
			same++
		}
	}
	assert.Equal(t, 50, same, "a client holding the cookie stays on %s", first)

	abort := runDswap(t, "abort", svc.name, "--drain", "5s", "--output", "json")
	require.Equal(t, 0, abort.code, abort.stderr)
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "v2 removed; the route names v1 alone")
	assert.NotContains(t, svc.routeFile(t), "weighted")
	for range 10 {
		assert.Equal(t, "v1", versionOf(t, plain, svc))
	}
}

// TestMonitorRollsBackOnErrorRate: a plain swap (no canary) to a v2 that
// stays healthy but answers 500 to one request in five is rolled back
// within --monitor 30s by --max-error-rate 1%, long before the window
// ends: exit 1, v1 serves alone again.
func TestMonitorRollsBackOnErrorRate(t *testing.T) {
	svc := startService(t, "monitor-errors", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 4, "", image(imgFailing), "--monitor", "30s", "--max-error-rate", "1%", "--drain", "5s")
	assert.Equal(t, 1, run.code, "a release rolled back by its error rate exits 1")
	assert.Equal(t, "monitor", run.result.Phase)
	assert.Regexp(t, `error rate [0-9.]+% \([0-9]+ of [0-9]+\) > 1%`, run.result.Error)
	assert.Less(t, run.took, 25*time.Second, "rolled back on the error rate, not at the end of the window")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "v2 removed; the route names v1 alone")
	requests, failed, from, to := canaryWindow(rep)
	t.Logf("monitor: %d of %d requests failed while v2 served (%s), dswap took %.2fs", failed, requests, to.Sub(from).Round(time.Millisecond), run.took.Seconds())
}
