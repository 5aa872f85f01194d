package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmptyListLabelDoesNotFreezeOtherServices: compose turns
// basicauth.users=${HTPASSWD} with the variable unset into an empty label.
// dswap must refuse it, naming the label, and write nothing: a file
// Traefik refuses would stop every route of the directory from changing,
// so the next swap of an unrelated, healthy service could not be confirmed.
func TestEmptyListLabelDoesNotFreezeOtherServices(t *testing.T) {
	good := startService(t, "good", serviceOpts{})
	mw := "auth-" + randomHex(2)
	label := "traefik.http.middlewares." + mw + ".basicauth.users"
	bad := startService(t, "emptyauth", serviceOpts{noSync: true, labels: map[string]string{label: ""}})

	run := runDswap(t, "sync", bad.name)
	assert.Equal(t, 2, run.code, "refused as bad input")
	assert.Contains(t, run.stderr, label)
	assert.Contains(t, run.stderr, "empty")
	_, err := os.Stat(filepath.Join(suite.lab.RoutesDir, routeFileName("", bad.name)))
	assert.True(t, os.IsNotExist(err), "no route file was written for the bad service")

	swapped := good.up(t, image(imgV2))
	require.Equal(t, 0, swapped.code, "the other service still swaps: %s", swapped.stderr)
	assert.Equal(t, "swapped", swapped.result.Result)
	assert.Contains(t, good.routeFile(t), swapped.result.New[0], "its route points at the new container")
}

// TestHandWrittenMiddlewareIsNotSquatted: a hand-written TOML file in a
// subdirectory defines the middleware "auth" that routers use as auth@file.
// A container defining a middleware of the same name would replace it
// (dswap-* files sort first), so dswap refuses.
func TestHandWrittenMiddlewareIsNotSquatted(t *testing.T) {
	needSuite(t)
	mw := "auth" + randomHex(2)
	dir := filepath.Join(suite.lab.RoutesDir, "hand-"+randomHex(2))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.toml"),
		[]byte("[http.middlewares."+mw+".basicAuth]\n  users = [\"admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"]\n"), 0o644))

	squat := startService(t, "squat", serviceOpts{noSync: true, labels: map[string]string{
		"traefik.http.middlewares." + mw + ".headers.customrequestheaders.X-User": "anyone",
	}})
	run := runDswap(t, "sync", squat.name)
	assert.Equal(t, 2, run.code)
	assert.Contains(t, run.stderr, `middleware "`+mw+`" is also defined in `+filepath.Base(dir)+"/auth.toml")
	_, err := os.Stat(filepath.Join(suite.lab.RoutesDir, routeFileName("", squat.name)))
	assert.True(t, os.IsNotExist(err), "no route file was written")
}

// TestContainerClaimingAServiceIsNotRouted: a container labelled
// dswap.service=<victim> with routing of its own is neither routed nor
// stopped, and the victim's route keeps its middleware and only its server.
func TestContainerClaimingAServiceIsNotRouted(t *testing.T) {
	mw := "hdr-" + randomHex(2)
	victim := startService(t, "victim", serviceOpts{labels: map[string]string{
		"traefik.http.middlewares." + mw + ".headers.customresponseheaders.X-Guard": "on",
	}})
	before := victim.routeFile(t)
	require.Contains(t, before, mw)

	// Same service name, no middleware, another router.
	intruder := startService(t, "intruder", serviceOpts{noSync: true, labels: map[string]string{
		"dswap.service": victim.name,
	}})
	run := runDswap(t, "sync", victim.name)
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stderr, "not routed")
	after := victim.routeFile(t)
	assert.Contains(t, after, mw, "the victim keeps its middleware")
	assert.NotContains(t, after, intruder.name, "the intruder is not routed")
	assert.Equal(t, 1, strings.Count(after, "url:"), "only the victim's server")
	running := 0
	for _, c := range victim.containers(t) {
		if c.State == "running" {
			running++
		}
	}
	assert.Equal(t, 2, running, "the intruder is not stopped either")
}
