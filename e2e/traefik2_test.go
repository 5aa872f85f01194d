package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// The tests in this file run dswap against Traefik v2.11 (built from its
// module by scripts/tools.sh, DSWAP_TRAEFIK2_BIN) in a lab of its own,
// started by the first test that needs it and closed with the suite.

// traefik2Version is the release tools/traefik2 builds and stamps.
const traefik2Version = "v2.11.53"

var traefik2 struct {
	once sync.Once
	lab  *lab.Lab
	err  error
}

// useTraefik2Lab points the harness (startService, runDswap, load) at the
// Traefik v2.11 lab for the rest of the test. Without the binary the test
// skips, and fails under CI=true.
func useTraefik2Lab(t *testing.T) {
	t.Helper()
	needSuite(t)
	bin := lab.Traefik2BinFromEnv()
	if bin == "" {
		reason := "no Traefik v2.11 binary: run scripts/tools.sh and set " + lab.Traefik2BinEnv
		if os.Getenv("CI") == "true" {
			t.Fatal(reason + "; under CI=true the end-to-end tests must run")
		}
		t.Skip(reason)
	}
	traefik2.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		traefik2.lab, traefik2.err = lab.New(ctx, lab.Options{
			Prefix: suite.lab.Prefix + "-t2", TraefikBin: bin, TraefikV2: true, Log: os.Stderr,
		})
	})
	require.NoError(t, traefik2.err, "starting the Traefik v2.11 lab")
	main := suite.lab
	suite.lab = traefik2.lab
	t.Cleanup(func() { suite.lab = main })
}

// closeTraefik2Lab removes the Traefik v2.11 lab, if a test started one.
func closeTraefik2Lab() {
	if traefik2.lab == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := traefik2.lab.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: closing the Traefik v2.11 lab:", err)
	}
}

// traefikReportedVersion reads /api/version of the lab's Traefik.
func traefikReportedVersion(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, suite.lab.APIURL+"/api/version", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var v struct{ Version string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v.Version
}

// TestTraefik2SwapUnderLoad: the core swap, under load, with Traefik v2.11
// reading the route file.
func TestTraefik2SwapUnderLoad(t *testing.T) {
	useTraefik2Lab(t)
	require.Equal(t, traefik2Version, traefikReportedVersion(t), "the lab runs Traefik v2.11")

	svc := startService(t, "t2core", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 8, "delay=50ms", image(imgV2), "--drain", "10s")
	require.Equal(t, 0, run.code, run.stderr)

	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Positive(t, rep.ByVersion["v1"])
	assert.Positive(t, rep.ByVersion["v2"])
	assert.Equal(t, "swapped", run.result.Result)
	require.Len(t, run.result.New, 1)
	cs := svc.containers(t)
	require.Len(t, cs, 1)
	assert.Equal(t, image(imgV2), cs[0].Image)
	assert.Contains(t, svc.routeFile(t), "http://"+run.result.New[0]+":8080")

	t.Logf("figures (Traefik %s): requests=%d failed=%d hung=%d healthy_after=%.2fs traffic_on_new_after_healthy=%.3fs total=%.2fs",
		traefik2Version, rep.Total, rep.Failed, rep.Hung, run.result.HealthySeconds, run.result.RoutedAfterHealthy, run.result.TotalSeconds)
}

// TestTraefik2RefusesAV3OnlyField: a service whose labels use a field only
// Traefik v3 knows is refused before anything is written, naming the label,
// the field and the release that has it; Traefik v2 never sees the field,
// so another service (using a field only v2.11 knows) still swaps.
func TestTraefik2RefusesAV3OnlyField(t *testing.T) {
	useTraefik2Lab(t)

	// Each service gets a second router carrying the middleware; without a
	// service of its own it is linked to the container's only service.
	goodRouter := "t2good-errors-" + randomHex(2)
	good := startService(t, "t2good", serviceOpts{labels: map[string]string{
		"traefik.http.routers." + goodRouter + ".rule":                           "Host(`" + goodRouter + ".test`)",
		"traefik.http.routers." + goodRouter + ".entrypoints":                    "web",
		"traefik.http.routers." + goodRouter + ".middlewares":                    goodRouter,
		"traefik.http.middlewares." + goodRouter + ".errors.status":              "500-599",
		"traefik.http.middlewares." + goodRouter + ".errors.service":             "ping@internal",
		"traefik.http.middlewares." + goodRouter + ".errors.query":               "/ping",
		"traefik.http.middlewares." + goodRouter + ".errors.errorrequestheaders": "Accept",
	}})
	assert.Contains(t, good.routeFile(t), "errorRequestHeaders", "a field only v2.11 knows is written for Traefik v2.11")

	badRouter := "t2bad-allow-" + randomHex(2)
	bad := startService(t, "t2bad", serviceOpts{noSync: true, labels: map[string]string{
		"traefik.http.routers." + badRouter + ".rule":                             "Host(`" + badRouter + ".test`)",
		"traefik.http.routers." + badRouter + ".entrypoints":                      "web",
		"traefik.http.routers." + badRouter + ".middlewares":                      badRouter,
		"traefik.http.middlewares." + badRouter + ".ipallowlist.sourcerange":      "0.0.0.0/0",
		"traefik.http.middlewares." + badRouter + ".ipallowlist.rejectstatuscode": "404",
	}})
	wantMessage := []string{
		`label "traefik.http.middlewares.` + badRouter + `.ipallowlist.rejectstatuscode"`,
		"field rejectStatusCode needs Traefik v3.0 or later",
		"the running Traefik is " + traefik2Version,
	}

	for _, args := range [][]string{{"sync", bad.name}, {"up", image(imgV2), "--service", bad.name}} {
		before := snap(t, bad)
		run := runDswap(t, args...)
		assert.Equal(t, 2, run.code, "dswap %s: bad input exits 2", args[0])
		for _, w := range wantMessage {
			assert.Contains(t, run.stderr+run.stdout, w)
		}
		assert.Equal(t, before, snap(t, bad), "dswap %s changed nothing", args[0])
		_, err := os.Stat(filepath.Join(suite.lab.RoutesDir, routeFileName("", bad.name)))
		assert.True(t, os.IsNotExist(err), "no route file was written for %s", bad.name)
	}

	run := good.up(t, image(imgV2), "--drain", "2s")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Equal(t, "swapped", run.result.Result)
	require.Len(t, run.result.New, 1)
	assert.Contains(t, good.routeFile(t), "http://"+run.result.New[0]+":8080")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := suite.lab.TraefikLogs(ctx, 400)
	assert.NotContains(t, logs, "field not found", "Traefik v2 rejected a route file:\n%s", logs)
}
