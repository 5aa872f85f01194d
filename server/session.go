package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// The status page's browser logs in once with the API token and then
// carries a session cookie instead: a browser cannot add an Authorization
// header to an EventSource or an <img>, and the token must not travel in
// URLs. The cookie authorises reading only (GET and HEAD); everything that
// changes something still needs the bearer token, so a page on another
// site that makes the browser send the cookie (CSRF) can at most read
// nothing it can see (SameSite=Strict keeps the cookie off cross-site
// requests in the first place).
const (
	sessionCookie = "dswap_session"
	// sessionTTL is how long a login lasts; the page logs in again after.
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the sessions kept; the oldest goes first.
	maxSessions = 256
)

// sessions are the page's logins, kept in memory: a sidecar that restarts
// logs every browser out, and a login never outlives the token it was made
// with (the sidecar reads the token at start). Only a hash of each session
// id is kept, so that a memory dump does not hand out live cookies.
type sessions struct {
	mu   sync.Mutex
	now  func() time.Time
	byID map[[sha256.Size]byte]time.Time // hash of the id -> expiry
}

func newSessions(now func() time.Time) *sessions {
	if now == nil {
		now = time.Now
	}
	return &sessions{now: now, byID: map[[sha256.Size]byte]time.Time{}}
}

// create starts a session and returns its id: 32 random bytes in hex.
func (s *sessions) create() (string, time.Time) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expireLocked(now)
	for len(s.byID) >= maxSessions {
		var oldest [sha256.Size]byte
		first := true
		for k, exp := range s.byID {
			if first || exp.Before(s.byID[oldest]) {
				oldest, first = k, false
			}
		}
		delete(s.byID, oldest)
	}
	exp := now.Add(sessionTTL)
	s.byID[sha256.Sum256([]byte(id))] = exp
	return id, exp
}

// valid says whether id is a live session.
func (s *sessions) valid(id string) bool {
	if len(id) != 64 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.byID[sha256.Sum256([]byte(id))]
	if !ok {
		return false
	}
	if !s.now().Before(exp) {
		delete(s.byID, sha256.Sum256([]byte(id)))
		return false
	}
	return true
}

// end forgets a session (logout).
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(id)))
}

func (s *sessions) expireLocked(now time.Time) {
	for k, exp := range s.byID {
		if !now.Before(exp) {
			delete(s.byID, k)
		}
	}
}

// fromRequest returns the request's session id if it names a live session.
func (s *sessions) fromRequest(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !s.valid(c.Value) {
		return "", false
	}
	return c.Value, true
}

// sessionCookieFor is the cookie that carries a session: HttpOnly (no
// script reads it), SameSite=Strict (no other site's page makes the
// browser send it), Secure when the page came over TLS, Path=/ so that the
// API under /v1/ gets it too.
func sessionCookieFor(r *http.Request, id string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if id == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = int(sessionTTL / time.Second)
	}
	return c
}

// readOnly says whether a request's method only reads.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// requireAuth lets a request through with the bearer token, or, for a
// request that only reads, with a live session cookie. Anything else gets
// 401 before the handler runs.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	withToken := requireToken(s.opts.Token, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearer(r); ok {
			withToken.ServeHTTP(w, r)
			return
		}
		if _, ok := s.sessions.fromRequest(r); ok {
			if readOnly(r) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="dswap"`)
			writeError(w, http.StatusUnauthorized, "the status page's session cookie only reads; "+r.Method+" needs Authorization: Bearer <token> (the sidecar's --token-file or DSWAP_TOKEN)")
			return
		}
		withToken.ServeHTTP(w, r)
	})
}
