package swarm

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/browser"
)

// TestSwarmStatusPage is the sidecar's status page for a Swarm service, in
// a real Chromium: `dswap serve` on the machine, pointed at a one-node
// Swarm's manager; log in through the page's form, see the service as a
// Swarm service of 3 replicas on v1 with its tasks routed; follow a swap to
// v2 started through the API as it happens; then see its tasks on v2, the
// swap in the service's history and the swap's timeline.
func TestSwarmStatusPage(t *testing.T) {
	needSwarm(t)
	path, err := browser.Find()
	if err != nil {
		missing(t, err.Error())
	}
	_, _, _, v2, app, api := servedSwarm(t)
	tab, err := browser.Start(path, 1280, 1500)
	require.NoError(t, err)
	t.Cleanup(tab.Close)
	started := time.Now()

	artifacts := os.Getenv("DSWAP_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	shot := func(name string) string {
		path, err := tab.Screenshot(artifacts, name)
		require.NoError(t, err)
		return path
	}
	waitFor := func(what, expr string, d time.Duration) {
		t.Helper()
		require.NoError(t, tab.WaitFor(what, expr, d))
	}
	card := `document.querySelector('[data-service=` + strconv.Quote(app.name) + `]')`

	require.NoError(t, tab.Login(api.base, api.token))
	waitFor("the Swarm service with its replicas", card+`?.querySelector('h3')?.textContent.includes('Swarm service, 3 replicas')`, 30*time.Second)
	waitFor("the service on v1", card+`.querySelector('.version')?.textContent === 'v1'`, 10*time.Second)
	waitFor("its three tasks running and routed", card+`.textContent.split(', running').length - 1 === 3 && `+card+`.textContent.split(', routed)').length - 1 === 3`, 10*time.Second)
	routedBefore, err := browser.Eval[string](tab, card+`.querySelector('.routed').textContent`)
	require.NoError(t, err)
	before := shot("swarm-status-page-v1.png")

	// The swap, through the API: the page shows its progress live, then
	// its result.
	code, body := api.call(t, http.MethodPost, "/v1/services/"+app.name+"/swap", map[string]string{"image": v2}, 30*time.Second)
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	var acc struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &acc))
	require.NotEmpty(t, acc.ID)
	swapStarted := time.Now()
	live := `document.querySelector('.live[data-swap="` + acc.ID + `"]')`
	waitFor("the swap's live progress", live+`?.querySelector('.log').textContent.includes('[health]') && !`+live+`.dataset.result`, time.Minute)
	seenLive := time.Since(swapStarted)
	during := shot("swarm-status-page-swapping.png")
	waitFor("the swap's result", live+`?.dataset.result === 'swapped'`, 4*time.Minute)
	logText, err := browser.Eval[string](tab, live+`.querySelector('.log').textContent`)
	require.NoError(t, err)
	for _, phase := range []string{"[health]", "[flip]", "[remove]"} {
		assert.Contains(t, logText, phase, "the live log shows phase %s", phase)
	}

	// Then v2: its tasks, routed, the history and the timeline.
	waitFor("the service on v2", card+`?.querySelector('.version')?.textContent === 'v2'`, 30*time.Second)
	waitFor("its three tasks on v2, running and routed", card+`.textContent.split(`+strconv.Quote(v2+", running")+`).length - 1 === 3 && `+card+`.textContent.split(', routed)').length - 1 === 3`, 30*time.Second)
	waitFor("the swap in the history", card+`.querySelector('.history')?.textContent.includes('v1 → v2')`, 10*time.Second)
	swapCard := `document.querySelector('#swaps [data-swap="` + acc.ID + `"]')`
	waitFor("the swap's timeline", swapCard+`?.querySelector('.timeline img')?.naturalWidth > 0`, 20*time.Second)
	routedAfter, err := browser.Eval[string](tab, card+`.querySelector('.routed').textContent`)
	require.NoError(t, err)
	assert.NotEqual(t, routedBefore, routedAfter, "the route names the new tasks")
	after := shot("swarm-status-page-v2.png")
	t.Logf("Chromium %s; routed before %s, after %s; swap seen live %.1fs after it started; test took %.1fs; screenshots: %s %s %s",
		tab.Path(), routedBefore, routedAfter, seenLive.Seconds(), time.Since(started).Seconds(), before, during, after)
}
