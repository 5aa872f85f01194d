package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// TestSwapUnderLoad is the core promise: v1 to v2 under 8 closed-loop
// clients with no failed or hung request and no v1 answer once v2 served.
// The app closes its listener at SIGTERM and finishes in-flight requests.
func TestSwapUnderLoad(t *testing.T) {
	svc := startService(t, "core", serviceOpts{env: []string{"GREETING=kept"}})
	run, rep := svc.swapUnderLoad(t, 8, "delay=50ms", image(imgV2), "--drain", "10s")
	require.Equal(t, 0, run.code, run.stderr)

	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Positive(t, rep.ByVersion["v1"])
	assert.Positive(t, rep.ByVersion["v2"])

	assert.Equal(t, "swapped", run.result.Result)
	assert.Equal(t, []string{svc.name}, run.result.Old)
	require.Len(t, run.result.New, 1)
	newName := run.result.New[0]

	// Exactly one container remains, the new one, and the route names it.
	cs := svc.containers(t)
	require.Len(t, cs, 1)
	assert.Equal(t, newName, cs[0].Name)
	assert.Equal(t, image(imgV2), cs[0].Image)
	assert.Contains(t, svc.routeFile(t), "http://"+newName+":8080")

	t.Logf("figures: requests=%d failed=%d hung=%d healthy_after=%.2fs traffic_on_new_after_healthy=%.3fs total=%.2fs",
		rep.Total, rep.Failed, rep.Hung, run.result.HealthySeconds, run.result.RoutedAfterHealthy, run.result.TotalSeconds)
}

// TestSwapWithSlowRequestsInFlight holds 3 s requests open across the flip:
// those sent to v1 before it must complete on v1 during the drain.
func TestSwapWithSlowRequestsInFlight(t *testing.T) {
	svc := startService(t, "slow", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 8, "delay=3s", image(imgV2), "--drain", "20s")
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")

	// Some 3 s requests were in flight on v1 when traffic moved: sent
	// before the first request that v2 answered, finished after it was
	// sent. The drain let them complete on v1.
	var flip time.Time
	for _, r := range rep.Results { // sorted by Start
		if r.Version == "v2" {
			flip = r.Start
			break
		}
	}
	require.False(t, flip.IsZero(), "v2 never answered")
	var completedOnV1AfterFlip int
	for _, r := range rep.Results {
		if r.Version == "v1" && r.End.After(flip) {
			completedOnV1AfterFlip++
		}
	}
	assert.Positive(t, completedOnV1AfterFlip, "no 3 s request was in flight on v1 at the flip")
	for _, r := range rep.Results {
		assert.GreaterOrEqual(t, r.End.Sub(r.Start), 3*time.Second, "every request took its 3 s")
	}
	t.Logf("figures: requests=%d, in flight on v1 at the flip and completed there=%d", rep.Total, completedOnV1AfterFlip)
}

// TestSwapAppThatIgnoresSigterm: the old container does not exit on its
// stop signal, so it is killed when the drain window ends, and no request
// fails because traffic had already left it.
func TestSwapAppThatIgnoresSigterm(t *testing.T) {
	svc := startService(t, "stubborn", serviceOpts{env: []string{"ON_SIGTERM=ignore"}})
	run, rep := svc.swapUnderLoad(t, 8, "", image(imgV2), "--drain", "3s")
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Contains(t, run.stderr, "did not exit within the drain window")
	assert.GreaterOrEqual(t, run.result.TotalSeconds, 3.0, "the old container was given its full drain window")
	require.Len(t, svc.containers(t), 1)
}

// TestSwapKeepsUserSettingsAndTakesNewImageDefaults checks the cloning
// trap: VERSION comes from the v2 image, the user's own env carries over.
func TestSwapKeepsUserSettingsAndTakesNewImageDefaults(t *testing.T) {
	svc := startService(t, "clone", serviceOpts{env: []string{"GREETING=kept"}})
	run := svc.up(t, image(imgV2), "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	env := inspectEnv(t, run.result.New[0])
	assert.Contains(t, env, "VERSION=v2")
	assert.NotContains(t, env, "VERSION=v1")
	assert.Contains(t, env, "GREETING=kept")
}

// TestUpStartsAServiceWithNoContainer: `dswap up` of a named service that
// has no container yet starts one from the image, on Traefik's network, and
// routes it with the Traefik labels the image carries.
func TestUpStartsAServiceWithNoContainer(t *testing.T) {
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "fresh-" + randomHex(2)
	tag := suite.lab.Prefix + "-app:" + name
	require.NoError(t, suite.lab.BuildApp(ctx, lab.AppImage{Tag: tag, Version: "v1", Labels: map[string]string{
		"traefik.enable":                         "false",
		"traefik.http.routers." + name + ".rule": "Host(`" + name + ".test`)",
	}}))
	svc := &service{name: name, host: name + ".test"}
	t.Cleanup(func() { svc.remove(t) })

	run := runDswap(t, "up", tag, "--service", name, "--output", "json")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Equal(t, []string{name}, run.result.New)
	assert.Empty(t, run.result.Old)

	ld := svc.load(t, 2, "")
	require.NoError(t, ld.WaitVersion(ctx, "v1"))
	rep := ld.Stop()
	assertNoFailedRequests(t, rep)
}

func inspectEnv(t *testing.T, container string) string {
	t.Helper()
	out := dockerCLI(t, "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", container)
	return strings.TrimSpace(out)
}
