package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/server"
)

// post calls the sidecar's API with its token and returns the status and
// body.
func (s *tcpSidecar) post(t *testing.T, path string, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api+path, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// TestSidecarPromotesAndAbortsAPausedCanary: a canary paused at 10% by a
// local dswap up is promoted through the sidecar's API (POST
// .../promote?wait=true: a 50% step, the full flip, v1 drained) under load
// without a failed request; a second paused canary back to v1 is aborted by
// `dswap abort` with DSWAP_HOST, which the sidecar runs.
func TestSidecarPromotesAndAbortsAPausedCanary(t *testing.T) {
	needSuite(t)
	side := serveTCP(t)
	svc := startService(t, "canary-api", serviceOpts{})
	ld := svc.load(t, 4, "")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"), "load never reached v1 through Traefik")

	run := svc.up(t, image(imgV2), "--canary", "10%", "--pause", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assertPaused(t, svc)
	require.NoError(t, ld.WaitVersion(waitCtx, "v2"), "the canary never served a request")

	path := "/v1/services/" + url.PathEscape(svc.name)
	status, body := side.post(t, path+"/abort", `{"canary":"50%"}`)
	assert.Equal(t, http.StatusBadRequest, status, "an abort takes no canary setting: %s", body)
	assertPaused(t, svc)

	start := time.Now()
	status, body = side.post(t, path+"/promote?wait=true", `{"canary":"10%,50%","step":"3s","drain":"5s"}`)
	require.Equal(t, http.StatusOK, status, "%s\nsidecar:\n%s", body, side.logs)
	var out server.Outcome
	require.NoError(t, json.Unmarshal(body, &out))
	t.Logf("promote over the API: %s in %.2fs", out.Result, time.Since(start).Seconds())
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, image(imgV2), out.To)
	require.Len(t, out.Canary, 1, "one step left after the paused 10%%")
	assert.Equal(t, 50, out.Canary[0].Weight)
	assert.Equal(t, "pass", out.Canary[0].Verdict)
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+16 }, 30*time.Second, 10*time.Millisecond, "load stopped after the promotion")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	assertNoFailedRequests(t, rep)
	assert.Equal(t, image(imgV2), assertConsistent(t, svc), "v1 drained; the route names v2 alone")
	assert.NotContains(t, svc.routeFile(t), "weighted")

	// The run is the sidecar's, listed as a promote.
	req, err := http.NewRequest(http.MethodGet, side.api+"/v1/swaps/"+out.ID, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+side.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var view struct{ Kind, State string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&view))
	resp.Body.Close()
	assert.Equal(t, "promote", view.Kind)
	assert.Equal(t, "done", view.State)

	back := svc.up(t, image(imgV1), "--canary", "10%", "--pause", "--drain", "5s")
	require.Equal(t, 0, back.code, back.stderr)
	assertPaused(t, svc)
	abort := runDswapEnv(t, []string{"DSWAP_HOST=" + side.api, "DSWAP_TOKEN=" + side.token,
		"DSWAP_ROUTES_DIR=", "DSWAP_TRAEFIK_API=", "DSWAP_TRAEFIK_CONTAINER="}, "abort", svc.name, "--drain", "5s", "--output", "json")
	require.Equal(t, 0, abort.code, abort.stderr)
	assert.Contains(t, abort.stderr, "the dswap sidecar runs the abort")
	assert.Equal(t, image(imgV2), assertConsistent(t, svc), "the canary of v1 removed; v2 serves alone")
	assert.NotContains(t, svc.routeFile(t), "weighted")
}
