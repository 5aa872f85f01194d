package e2e

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/server"
)

// TestTraefikMetricsFlag: --traefik-metrics is where dswap reads Traefik's
// metrics. A judged canary pointed at an address that answers no metrics
// is refused before anything starts (exit 2, nothing changed); pointed at
// Traefik's real /metrics it is judged; dswap status reads the same URL.
func TestTraefikMetricsFlag(t *testing.T) {
	svc := startService(t, "metrics-url", serviceOpts{})
	before := svc.routeFile(t)
	nowhere := suite.lab.APIURL + "/no-metrics-here"
	run := svc.up(t, image(imgV2), "--canary", "10%", "--step", "1s", "--max-error-rate", "1%", "--traefik-metrics", nowhere)
	assert.Equal(t, 2, run.code, run.stderr)
	assert.Contains(t, run.result.Error, "--traefik-metrics")
	assert.Contains(t, run.result.Error, "404")
	assert.Equal(t, before, svc.routeFile(t), "nothing was changed")
	assert.Len(t, svc.containers(t), 1)

	paused := svc.up(t, image(imgV2), "--canary", "10%", "--pause", "--traefik-metrics", suite.lab.APIURL+"/metrics")
	require.Equal(t, 0, paused.code, paused.stderr)
	for url, wantErr := range map[string]bool{nowhere: true, suite.lab.APIURL + "/metrics": false} {
		st := runDswap(t, "status", svc.name, "--output", "json", "--traefik-metrics", url)
		require.Equal(t, 0, st.code, st.stderr)
		var got []server.ServiceStatus
		require.NoError(t, json.Unmarshal([]byte(st.stdout), &got))
		require.Len(t, got, 1)
		require.NotNil(t, got[0].Canary)
		if wantErr {
			assert.Contains(t, got[0].Canary.MetricsError, "404", "status says why it has no figures")
		} else {
			assert.Empty(t, got[0].Canary.MetricsError)
			assert.NotNil(t, got[0].Canary.Stable)
		}
	}
	abort := runDswap(t, "abort", svc.name, "--drain", "2s")
	require.Equal(t, 0, abort.code, abort.stderr)
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))
}
