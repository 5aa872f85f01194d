package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// tokensMatch compares a presented secret with the configured one in
// constant time. Both are hashed first, so that the comparison does not
// even reveal the configured token's length; an empty configured token
// never matches.
func tokensMatch(presented, configured string) bool {
	if configured == "" {
		return false
	}
	p := sha256.Sum256([]byte(presented))
	c := sha256.Sum256([]byte(configured))
	return subtle.ConstantTimeCompare(p[:], c[:]) == 1
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// requireToken lets a request through only with the configured bearer
// token. Anything else gets 401 before the handler runs, so an
// unauthenticated call changes nothing.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		presented, ok := bearer(r)
		if !ok || !tokensMatch(presented, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dswap"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <token> (the sidecar's --token-file or DSWAP_TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validGitHubSignature checks GitHub's X-Hub-Signature-256 header
// ("sha256=" and the hex HMAC-SHA256 of the body with the webhook secret)
// in constant time.
func validGitHubSignature(secret []byte, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// wellFormedGitHubSignature says whether an X-Hub-Signature-256 header
// has the shape of one ("sha256=" and 64 hex digits), which can be told
// before the body arrives.
func wellFormedGitHubSignature(header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(hexSig)
	return err == nil
}

// signGitHub computes the X-Hub-Signature-256 value GitHub would send;
// tests and the e2e use it to play GitHub.
func signGitHub(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
