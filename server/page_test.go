package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
)

// browser sends requests as the page's browser would: cookies only, no
// Authorization header, redirects not followed.
type browser struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
}

func (b *browser) do(method, path string, body url.Values, header map[string]string) *http.Response {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, r)
	require.NoError(b.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	require.NoError(b.t, err)
	b.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (b *browser) login(token string) *http.Response {
	b.t.Helper()
	resp := b.do(http.MethodPost, "/ui/login", url.Values{"token": {token}}, map[string]string{"Origin": b.base})
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			b.cookie = c
		}
	}
	return resp
}

func TestPageIsServedWithItsSecurityHeaders(t *testing.T) {
	_, hs, _ := testServer(t, Options{})
	b := &browser{t: t, base: hs.URL}

	root := b.do(http.MethodGet, "/", nil, nil)
	assert.Equal(t, http.StatusSeeOther, root.StatusCode)
	assert.Equal(t, "/ui/", root.Header.Get("Location"))

	for path, want := range map[string]string{"/ui/": "<title>dswap status</title>", "/ui/app.js": "new EventSource(", "/ui/style.css": ".card"} {
		resp := b.do(http.MethodGet, path, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		body, _ := io.ReadAll(resp.Body)
		assert.Contains(t, string(body), want, path)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'", path)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
	}
	// The page holds no data: without a login the API still answers 401.
	assert.Equal(t, http.StatusUnauthorized, b.do(http.MethodGet, "/v1/services", nil, nil).StatusCode)
	assert.Equal(t, http.StatusNotFound, b.do(http.MethodGet, "/ui/nothing.js", nil, nil).StatusCode)
}

func TestPageLoginSetsAReadOnlySessionCookie(t *testing.T) {
	_, hs, fb := testServer(t, Options{})
	b := &browser{t: t, base: hs.URL}

	resp := b.login("wrong-token")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/ui/?login=failed", resp.Header.Get("Location"))
	require.Nil(t, b.cookie, "a wrong token gets no cookie")

	resp = b.login(testToken)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/ui/", resp.Header.Get("Location"))
	require.NotNil(t, b.cookie)
	assert.True(t, b.cookie.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, b.cookie.SameSite)
	assert.Equal(t, "/", b.cookie.Path)
	assert.False(t, b.cookie.Secure, "plain HTTP: a Secure cookie would never come back")
	assert.NotContains(t, b.cookie.Value, testToken, "the cookie is not the token")
	assert.Positive(t, b.cookie.MaxAge)

	// The cookie reads, as the page does.
	for _, path := range []string{"/v1/services", "/v1/services/web/history", "/v1/swaps"} {
		assert.Equal(t, http.StatusOK, b.do(http.MethodGet, path, nil, nil).StatusCode, path)
	}
	// It changes nothing: every POST needs the bearer token.
	for _, path := range []string{"/v1/swaps", "/v1/services/web/swap", "/v1/services/web/rollback", "/v1/swaps/x/cancel"} {
		resp := b.do(http.MethodPost, path, url.Values{"image": {"myapp:v2"}}, map[string]string{"Origin": hs.URL})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		body, _ := io.ReadAll(resp.Body)
		assert.Contains(t, string(body), "only reads", path)
	}
	assert.Empty(t, fb.recorded(), "nothing was started with the cookie")
	// A wrong bearer token is refused even with a live cookie.
	assert.Equal(t, http.StatusUnauthorized, b.do(http.MethodGet, "/v1/services", nil, map[string]string{"Authorization": "Bearer nope"}).StatusCode)
	// The bearer path is unchanged.
	code, _ := call(t, http.MethodGet, hs.URL+"/v1/services", nil, nil)
	assert.Equal(t, http.StatusOK, code)

	// Logging out ends the session on the server, not only in the browser.
	old := b.cookie
	resp = b.do(http.MethodPost, "/ui/logout", url.Values{}, map[string]string{"Origin": hs.URL})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	b.cookie = old
	assert.Equal(t, http.StatusUnauthorized, b.do(http.MethodGet, "/v1/services", nil, nil).StatusCode)
}

func TestPageLoginRefusesOtherSitesAndTokensInURLs(t *testing.T) {
	_, hs, _ := testServer(t, Options{})
	b := &browser{t: t, base: hs.URL}

	resp := b.do(http.MethodPost, "/ui/login", url.Values{"token": {testToken}}, map[string]string{"Origin": "https://evil.example"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Cookies())
	resp = b.do(http.MethodPost, "/ui/login", url.Values{"token": {testToken}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Cookies())

	// The token is read from the form's body only.
	resp = b.do(http.MethodPost, "/ui/login?token="+testToken, url.Values{}, nil)
	assert.Equal(t, "/ui/?login=failed", resp.Header.Get("Location"))
	assert.Empty(t, resp.Cookies())
	resp = b.do(http.MethodGet, "/ui/login?token="+testToken, nil, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no login by GET")
	assert.Empty(t, resp.Cookies())

	// A forged cookie is no session.
	b.cookie = &http.Cookie{Name: sessionCookie, Value: strings.Repeat("ab", 32)}
	assert.Equal(t, http.StatusUnauthorized, b.do(http.MethodGet, "/v1/services", nil, nil).StatusCode)
}

func TestSessionCookieIsSecureOverTLS(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "https://dswap.example/ui/login", nil)
	req.TLS = &tls.ConnectionState{}
	c := sessionCookieFor(req, "id", time.Now().Add(time.Hour))
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	cleared := sessionCookieFor(req, "", time.Time{})
	assert.Negative(t, cleared.MaxAge)
}

func TestSessionsExpireAndAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newSessions(func() time.Time { return now })
	id, exp := s.create()
	assert.Len(t, id, 64)
	assert.Equal(t, now.Add(sessionTTL), exp)
	assert.True(t, s.valid(id))
	other := "0" // another last digit: the id's own is random, and may be 0
	if id[63] == '0' {
		other = "1"
	}
	assert.False(t, s.valid(id[:63]+other))
	now = now.Add(sessionTTL)
	assert.False(t, s.valid(id), "a session ends after its TTL")

	first, _ := s.create()
	for i := 0; i < maxSessions; i++ {
		now = now.Add(time.Second)
		s.create()
	}
	assert.False(t, s.valid(first), "the oldest session went to make room")
	assert.LessOrEqual(t, len(s.byID), maxSessions)
}

func TestPageWithoutTokenOnASocketNeedsNoLogin(t *testing.T) {
	s, err := New(context.Background(), Options{Backend: &fakeBackend{}, AllowWithoutToken: true})
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	b := &browser{t: t, base: hs.URL}
	assert.Equal(t, http.StatusOK, b.do(http.MethodGet, "/v1/services", nil, nil).StatusCode)
	resp := b.login("")
	assert.Equal(t, "/ui/", resp.Header.Get("Location"))
}

func TestTimelineOfAFinishedSwap(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fb := &fakeBackend{swap: func(ctx context.Context, req swap.Request, log *slog.Logger) (*swap.Result, error) {
		return &swap.Result{Service: "web", FromImage: "myapp:v1", ToImage: req.Image, Steps: []swap.Step{
			{Phase: swap.PhasePlan, At: t0}, {Phase: swap.PhaseHealth, At: t0.Add(time.Second)}, {Phase: swap.PhaseDone, At: t0.Add(2 * time.Second)},
		}}, nil
	}}
	_, hs, _ := testServer(t, Options{Backend: fb})
	code, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/swap?wait=true", map[string]string{"image": "myapp:v2"}, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var out Outcome
	require.NoError(t, json.Unmarshal(body, &out))
	id := out.ID
	require.NotEmpty(t, id)

	b := &browser{t: t, base: hs.URL}
	assert.Equal(t, http.StatusUnauthorized, b.do(http.MethodGet, "/v1/swaps/"+id+"/timeline.svg", nil, nil).StatusCode, "the picture needs a login too")
	b.login(testToken)
	resp := b.do(http.MethodGet, "/v1/swaps/"+id+"/timeline.svg", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox")
	svg, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(svg), "<svg")
	assert.Contains(t, string(svg), "myapp:v1 → myapp:v2")

	assert.Equal(t, http.StatusNotFound, b.do(http.MethodGet, "/v1/swaps/unknown/timeline.svg", nil, nil).StatusCode)
}
