package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/browser"
)

// chromium starts the browser the status page's tests drive
// (browser.Find), closed when the test ends. Without one the test skips,
// except under CI=true, where a missing browser is a failure
// (scripts/chromium.sh installs it).
func chromium(t *testing.T) *browser.Tab {
	t.Helper()
	path, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err.Error() + "; under CI=true this test must run")
		}
		t.Skip(err.Error())
	}
	tab, err := browser.Start(path, 1280, 1500)
	require.NoError(t, err)
	t.Cleanup(tab.Close)
	return tab
}

// artifactDir is where a test keeps files for a person to look at:
// $DSWAP_ARTIFACTS, else a new temporary directory that is not removed.
func artifactDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("DSWAP_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	d, err := os.MkdirTemp("", "dswap-artifacts-")
	require.NoError(t, err)
	return d
}

// The status page, in a real browser: log in through its form, see the
// service on v1, follow a swap to v2 started through the API as it
// happens, then see v2 and the swap's timeline. The session cookie reads
// but cannot start a swap.
func TestStatusPage(t *testing.T) {
	tab := chromium(t)
	started := time.Now()
	svc := startService(t, "page", serviceOpts{})
	side := serveTCP(t)
	within := tab.Within
	waitFor := func(what, expr string, d time.Duration) {
		t.Helper()
		require.NoError(t, tab.WaitFor(what, expr, d))
	}
	artifacts := artifactDir(t)
	shot := func(name string) string {
		path, err := tab.Screenshot(artifacts, name)
		require.NoError(t, err)
		t.Logf("screenshot: %s", path)
		return path
	}
	svcSel := `document.querySelector('[data-service=` + strconv.Quote(svc.name) + `]')`

	// Not logged in: the login form, and nothing about the services.
	require.NoError(t, chromedp.Do(within(30*time.Second), chromedp.Navigate(side.api+"/")))
	require.NoError(t, chromedp.Do(within(30*time.Second), chromedp.WaitVisible(chromedp.ID("token"))))
	waitFor("no service before the login", `!`+svcSel, time.Second)

	// A wrong token is refused and says so.
	require.NoError(t, tab.Login(side.api, "not-the-token"))
	waitFor("the refused login", `!document.getElementById('login-failed').hidden`, 10*time.Second)

	// The right token: the service, on v1, healthy and routed.
	require.NoError(t, tab.Login(side.api, side.token))
	waitFor("the service on v1", svcSel+`?.querySelector('.version')?.textContent === 'v1'`, 20*time.Second)
	waitFor("v1 healthy and routed", svcSel+`.querySelector('.health').textContent.includes('healthy') && `+svcSel+`.querySelector('.routed').textContent !== 'nothing'`, 10*time.Second)

	// The session cookie: HttpOnly, SameSite=Strict, not the token, and
	// out of the script's reach.
	cookies, err := chromedp.Call(within(10*time.Second), network.GetCookies, network.GetCookiesParams{URLs: []string{side.api + "/"}})
	require.NoError(t, err)
	require.Len(t, cookies.Cookies, 1)
	c := cookies.Cookies[0]
	assert.Equal(t, "dswap_session", c.Name)
	assert.True(t, c.HTTPOnly)
	assert.Equal(t, network.CookieSameSiteStrict, c.SameSite)
	assert.NotContains(t, c.Value, side.token)
	docCookie, err := chromedp.Run(within(10*time.Second), chromedp.Evaluate[string](`document.cookie`))
	require.NoError(t, err)
	assert.Empty(t, docCookie, "the page's script cannot read the session")
	loc, err := chromedp.Run(within(10*time.Second), chromedp.Location())
	require.NoError(t, err)
	assert.NotContains(t, loc, side.token, "no token in the URL")

	// The cookie cannot start a swap, even from the page itself.
	status, err := chromedp.Run(within(30*time.Second), chromedp.Evaluate[int](
		`fetch('/v1/services/`+svc.name+`/swap', {method: 'POST', credentials: 'same-origin', body: JSON.stringify({image: 'x:y'})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status, "a POST with the session cookie only")

	// A swap to v2 through the API with the bearer token. The monitor
	// window keeps it going for a few seconds after the flip, so that the
	// page's look at running swaps (every 2 s) finds it.
	before := shot("status-page-v1.png")
	body, _ := json.Marshal(map[string]string{"image": image(imgV2), "drain": "2s", "monitor": "4s"})
	req, err := http.NewRequest(http.MethodPost, side.api+"/v1/services/"+svc.name+"/swap", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+side.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var acc struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&acc))
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.NotEmpty(t, acc.ID)
	swapStarted := time.Now()

	// The progress, live: the swap's card fills with its events before
	// the swap has ended.
	live := `document.querySelector('.live[data-swap="` + acc.ID + `"]')`
	waitFor("the swap's live progress", live+`?.querySelector('.log').textContent.includes('[health]') && !`+live+`.dataset.result`, time.Minute)
	seenLive := time.Since(swapStarted)
	during := shot("status-page-swapping.png")
	waitFor("the swap's result", live+`?.dataset.result === 'swapped'`, 2*time.Minute)
	logText, err := chromedp.Run(within(10*time.Second), chromedp.Evaluate[string](live+`.querySelector('.log').textContent`))
	require.NoError(t, err)
	for _, phase := range []string{"[health]", "[flip]", "[drain]"} {
		assert.Contains(t, logText, phase, "the live log shows phase %s", phase)
	}

	// Then v2: the service's version, its history and the timeline.
	waitFor("the service on v2", svcSel+`?.querySelector('.version')?.textContent === 'v2'`, 30*time.Second)
	waitFor("the swap in the history", svcSel+`.querySelector('.history')?.textContent.includes('v1 → v2')`, 10*time.Second)
	swapCard := `document.querySelector('#swaps [data-swap="` + acc.ID + `"]')`
	waitFor("the swap's timeline", swapCard+`?.querySelector('.timeline img')?.naturalWidth > 0`, 20*time.Second)
	after := shot("status-page-v2.png")
	t.Logf("Chromium %s; swap seen live %.1fs after it started; test took %.1fs; screenshots: %s %s %s",
		tab.Path(), seenLive.Seconds(), time.Since(started).Seconds(), before, during, after)
}
