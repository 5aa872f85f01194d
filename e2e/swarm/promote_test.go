package swarm

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/server"
)

// serveOnHost runs `dswap serve` on this machine against the Swarm's
// manager, its API on a free port of 127.0.0.1 with a token, until the
// test ends.
func serveOnHost(t *testing.T, bin string, s *lab.Swarm) sidecarAPI {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	api := sidecarAPI{base: "http://" + addr, token: randomHex(16)}
	out := startDswap(t, bin, s, []string{"DSWAP_TOKEN=" + api.token}, "serve", "--listen", addr, "--resync", "0s")
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.base+"/v1/services", nil)
		req.Header.Set("Authorization", "Bearer "+api.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 200*time.Millisecond, "dswap serve did not answer; its output:\n%s", out)
	return api
}

// servedSwarm is routedSwarm's one-node Swarm with a 3-replica service,
// and `dswap serve` on the machine pointed at the manager.
func servedSwarm(t *testing.T) (s *lab.Swarm, bin, v1, v2 string, app swarmApp, api sidecarAPI) {
	t.Helper()
	s, bin, v1, v2, app = routedSwarm(t, 1, 3)
	return s, bin, v1, v2, app, serveOnHost(t, bin, s)
}

// TestSwarmSidecarPromotesAPausedCanary: a canary of a Swarm service
// paused at 20% by the CLI is promoted through the sidecar's API (POST
// .../promote?wait=true) under load: the bridge grows to every replica,
// takes all the traffic, the service is updated behind it and routed
// again, and nothing fails; Traefik's route goes from the split straight
// to 3 servers.
func TestSwarmSidecarPromotesAPausedCanary(t *testing.T) {
	s, bin, _, v2, app, api := servedSwarm(t)

	paused := runDswap(t, bin, s, "up", v2, "--service", app.name, "--canary", "20%", "--step", "3s", "--pause")
	require.Zero(t, paused.code, paused.stderr)
	require.Contains(t, paused.stdout, "canary paused")
	assert.True(t, serviceExists(t, s, app.name+"-dswap"), "the paused canary's bridge stays")

	weights := sampleWeights(t, s, app.name)
	stop := load(t, s, app, 4*time.Minute)
	time.Sleep(time.Second) // load on the paused split first
	started := time.Now()
	code, body := api.call(t, http.MethodPost, "/v1/services/"+app.name+"/promote?wait=true", nil, 4*time.Minute)
	took := time.Since(started)
	time.Sleep(time.Second)
	rep := stop()
	states := weights.finish()
	t.Logf("POST /v1/services/%s/promote?wait=true: %d in %s: %s", app.name, code, took.Round(time.Millisecond), body)
	t.Logf("load meanwhile: %s; route states Traefik showed, in order: %q", rep.Summary(), states)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var out server.Outcome
	require.NoError(t, json.Unmarshal(body, &out))
	assert.Equal(t, "swapped", out.Result, "%s", body)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Positive(t, rep.ByVersion["v1"], "v1 served its share of the paused split")
	assert.Positive(t, rep.ByVersion["v2"])
	require.NotEmpty(t, states)
	assert.Equal(t, "weighted 80/20 canary=1 stable=3", states[0], "the paused split, as the promote found it")
	for _, st := range states[1:] {
		// The bridge grown to 3 (flip 1), then the service's 3 new
		// tasks (flip 2): never fewer than 3 servers.
		assert.Equal(t, "plain 3", st, "route states %q", states)
	}
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	st := swarmStatusOf(t, api, app.name)
	require.Len(t, st.Tasks, 3, "%+v", st)
	for _, task := range st.Tasks {
		assert.Equal(t, v2, task.Image, "%+v", task)
		assert.True(t, task.Routed, "%+v", task)
	}
}
