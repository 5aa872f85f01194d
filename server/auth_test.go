package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTokensMatch(t *testing.T) {
	for _, tc := range []struct {
		presented, configured string
		want                  bool
	}{
		{"abc", "abc", true},
		{"abd", "abc", false},
		{"ab", "abc", false},
		{"abcd", "abc", false},
		{"", "abc", false},
		{"", "", false}, // an unset token never matches, not even an empty one
		{"x", "", false},
	} {
		assert.Equal(t, tc.want, tokensMatch(tc.presented, tc.configured), "%q vs %q", tc.presented, tc.configured)
	}
}

func TestRequireTokenRefusesWithoutChangingAnything(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"token with a suffix", "Bearer " + testToken + "x", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, http.StatusOK},
		{"scheme is case-insensitive", "bearer " + testToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			h := requireToken(testToken, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
			req := httptest.NewRequest(http.MethodPost, "/v1/services/web/swap", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
			assert.Equal(t, tc.want == http.StatusOK, ran, "the handler runs only with the right token")
			if tc.want == http.StatusUnauthorized {
				assert.JSONEq(t, `{"error":"missing or wrong bearer token: send Authorization: Bearer <token> (the sidecar's --token-file or DSWAP_TOKEN)"}`, rec.Body.String())
			}
		})
	}
}

func TestValidGitHubSignature(t *testing.T) {
	secret := []byte("hook-secret")
	body := []byte(`{"action":"published"}`)
	good := signGitHub(secret, body)
	// GitHub's documented example: secret "It's a Secret to Everybody",
	// payload "Hello, World!".
	assert.True(t, validGitHubSignature([]byte("It's a Secret to Everybody"), []byte("Hello, World!"),
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"))
	for _, tc := range []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   bool
	}{
		{"good", secret, body, good, true},
		{"missing", secret, body, "", false},
		{"no prefix", secret, body, good[len("sha256="):], false},
		{"sha1 form", secret, body, "sha1=" + good[len("sha256="):], false},
		{"not hex", secret, body, "sha256=zz", false},
		{"other body", secret, []byte(`{"action":"deleted"}`), good, false},
		{"other secret", []byte("other"), body, good, false},
		{"no secret configured", nil, body, signGitHub(nil, body), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, validGitHubSignature(tc.secret, tc.body, tc.header))
		})
	}
}
