package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An image without a HEALTHCHECK is never silently treated as healthy.

func TestNoHealthcheckIsRefusedUnlessChosen(t *testing.T) {
	svc := startService(t, "nohealth", serviceOpts{})
	before := svc.routeFile(t)
	run := svc.up(t, image(imgNoHealth))
	assert.Equal(t, 2, run.code, "bad input: nothing was changed")
	assert.Contains(t, run.result.Error, "has no HEALTHCHECK")
	assert.Contains(t, run.result.Error, "--health-cmd")
	assertOnlyV1Left(t, svc, before)
}

func TestHealthCmdForAnImageWithoutHealthcheck(t *testing.T) {
	svc := startService(t, "healthcmd", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 8, "", image(imgNoHealth), "--drain", "5s", "--health-cmd", `["/testapp","health"]`)
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.result.Readiness, "--health-cmd")
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
}

func TestNoHealthcheckWithSettleTime(t *testing.T) {
	svc := startService(t, "settle", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 8, "", image(imgNoHealth), "--drain", "5s", "--no-healthcheck", "--settle", "2s")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.result.Readiness, "stayed up for --settle 2s")
	assert.GreaterOrEqual(t, run.result.HealthySeconds, 2.0)
	assertNoFailedRequests(t, rep)
}

// TestFindsTraefikFromItsContainer: with only the Traefik container named,
// dswap reads the file-provider directory from its command line and mount,
// and the API address from its published port.
func TestFindsTraefikFromItsContainer(t *testing.T) {
	svc := startService(t, "discover", serviceOpts{})
	run := runDswapEnv(t, []string{"DSWAP_ROUTES_DIR=", "DSWAP_TRAEFIK_API="}, "up", image(imgV2), "--service", svc.name, "--output", "json", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, svc.routeFile(t), run.result.New[0])
}
