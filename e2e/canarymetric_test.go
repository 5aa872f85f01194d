package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSidecarCanaryWeightGauge: the sidecar's /metrics shows a paused
// canary's weight (dswap_canary_weight, read from the route file at each
// scrape) and drops it once the canary is aborted.
func TestSidecarCanaryWeightGauge(t *testing.T) {
	needSuite(t)
	side := serveTCP(t)
	svc := startService(t, "canary-gauge", serviceOpts{})
	weight := func() (float64, bool) {
		m := sample(side.scrape(t), "dswap_canary_weight", map[string]string{"service": svc.name})
		if m == nil || m.GetGauge() == nil {
			return 0, false
		}
		return m.GetGauge().GetValue(), true
	}
	_, found := weight()
	require.False(t, found, "no canary, no gauge")

	run := svc.up(t, image(imgV2), "--canary", "10%", "--pause", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	got, found := weight()
	require.True(t, found, "a paused canary shows on the sidecar's /metrics")
	assert.Equal(t, 10.0, got)

	abort := runDswap(t, "abort", svc.name, "--drain", "5s")
	require.Equal(t, 0, abort.code, abort.stderr)
	_, found = weight()
	assert.False(t, found, "after abort the service routes to one version: no gauge")
}
