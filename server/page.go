package server

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dswap-dev/dswap/report"
	"github.com/dswap-dev/dswap/swap"
)

// The status page is a read-only view of the sidecar, served from files
// built into the binary (no external asset: it works on a host without
// Internet access, and the Content-Security-Policy can forbid every other
// origin). Its script reads the same API a client does, with the session
// cookie the login form gets.

//go:embed page
var pageFiles embed.FS

// pageSecurityHeaders keep the page's own files to themselves: scripts,
// styles, images and connections from this origin only, no framing (no
// clickjacking of the login form), nothing sniffed, no referrer.
func pageSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// pageHandler serves the page's files under /ui/.
func pageHandler() http.Handler {
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	files := http.StripPrefix("/ui/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageSecurityHeaders(w.Header())
		files.ServeHTTP(w, r)
	})
}

// maxLoginBody bounds the login form: a token and its field name.
const maxLoginBody = 4 << 10

// login takes the API token from the page's form (POST, never a URL) and
// answers with a session cookie and a redirect to the page; a wrong token
// goes back to the form with ?login=failed.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	pageSecurityHeaders(w.Header())
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "the login form must be posted from the status page itself (/ui/)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "reading the login form: "+err.Error())
		return
	}
	token := r.PostForm.Get("token")
	open := s.opts.Token == "" && s.opts.AllowWithoutToken
	if !open && !tokensMatch(token, s.opts.Token) {
		s.log.Warn("status page login refused: wrong token", "remote", r.RemoteAddr)
		http.Redirect(w, r, "/ui/?login=failed", http.StatusSeeOther)
		return
	}
	if !open {
		id, exp := s.sessions.create()
		http.SetCookie(w, sessionCookieFor(r, id, exp))
		s.log.Info("status page login", "remote", r.RemoteAddr)
	}
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// logout ends the session and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	pageSecurityHeaders(w.Header())
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "log out from the status page itself (/ui/)")
		return
	}
	if id, ok := s.sessions.fromRequest(r); ok {
		s.sessions.end(id)
	}
	http.SetCookie(w, sessionCookieFor(r, "", time.Time{}))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// sameOrigin refuses a form posted from another site, with the standard
// library's check: Sec-Fetch-Site (sent by every current browser), else
// Origin against Host. A request with neither (curl) is let through: it
// carries no browser's cookies.
func sameOrigin(r *http.Request) bool {
	return crossOrigin.Check(r) == nil
}

var crossOrigin = http.NewCrossOriginProtection()

// timelines keep the recorded phases of the swaps this sidecar ran (the
// last keepFinished), to draw each one's SVG timeline on demand.
type timelines struct {
	mu    sync.Mutex
	byID  map[string]*swap.Result
	order []string
}

func newTimelines() *timelines { return &timelines{byID: map[string]*swap.Result{}} }

// SwapEnded keeps what the swap recorded.
func (t *timelines) SwapEnded(end SwapEnd) {
	if end.Result == nil || len(end.Result.Steps) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID[end.ID] = end.Result
	t.order = append(t.order, end.ID)
	for len(t.order) > keepFinished {
		delete(t.byID, t.order[0])
		t.order = t.order[1:]
	}
}

func (t *timelines) RouteRepaired(swap.Reconciled) {}
func (t *timelines) HookDelivered(_, _ string)     {}
func (t *timelines) get(id string) (*swap.Result, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[id]
	return r, ok
}

// getTimeline draws a finished swap's phases as SVG.
func (s *Server) getTimeline(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	res, ok := s.timelines.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no timeline for swap "+strconv.Quote(id)+": the sidecar keeps one for the last "+strconv.Itoa(keepFinished)+" swaps it ran that recorded their phases, once they have ended")
		return
	}
	var b bytes.Buffer
	if err := report.WritePhases(&b, res); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// Opened on its own, the picture runs nothing and loads nothing.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(b.Bytes())
}
