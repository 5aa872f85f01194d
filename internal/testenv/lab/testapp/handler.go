package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// maxDelay caps the per-request delay so that a typo such as delay=300h
// cannot pin a connection for longer than any test would ever wait.
const maxDelay = 10 * time.Minute

// service holds the request handlers and the state they read. Time and
// sleeping are injected so that the handlers can be tested without waiting.
type service struct {
	version      string
	hostname     string
	delay        time.Duration
	readyAt      time.Time
	neverHealthy bool
	// failAt, if set, is when /healthz turns 503 for good while requests
	// are still served: an app going bad before it crashes.
	failAt time.Time
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

// newService builds the handlers for cfg, counting readiness from start.
func newService(cfg config, hostname string, start time.Time) *service {
	return &service{
		version:      cfg.Version,
		hostname:     hostname,
		delay:        cfg.Delay,
		readyAt:      start.Add(cfg.ReadyAfter),
		neverHealthy: cfg.NeverHealthy,
		failAt:       failAt(cfg, start),
		now:          time.Now,
		sleep:        sleepContext,
	}
}

// sleepContext waits for d or until ctx ends, whichever comes first, so a
// client that gives up does not leave a goroutine sleeping for the full delay.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func failAt(cfg config, start time.Time) time.Time {
	if cfg.FailAfter <= 0 {
		return time.Time{}
	}
	return start.Add(cfg.ReadyAfter + cfg.FailAfter)
}

// ready reports whether /healthz should answer 200 at the current time.
func (s *service) ready() bool {
	now := s.now()
	if !s.failAt.IsZero() && !now.Before(s.failAt) {
		return false
	}
	return !s.neverHealthy && !now.Before(s.readyAt)
}

// routes returns the HTTP handler: /healthz for the health check and every
// other path for the versioned answer, so Traefik path rules need no rewrite.
func (s *service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.handleHealthz)
	mux.HandleFunc("/marker", s.handleMarker)
	mux.HandleFunc("/ws", s.handleWebSocket) // ws.go
	mux.HandleFunc("/", s.handleRoot)
	return mux
}

// requestDelay returns the delay for r: the delay query parameter wins over
// the configured default.
func (s *service) requestDelay(r *http.Request) (time.Duration, error) {
	q := r.URL.Query()
	if !q.Has("delay") {
		return s.delay, nil
	}
	raw := q.Get("delay")
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("delay=%q: %w", raw, err)
	}
	if d < 0 || d > maxDelay {
		return 0, fmt.Errorf("delay=%q: must be between 0 and %s", raw, maxDelay)
	}
	return d, nil
}

// handleRoot sleeps the requested delay and answers with the version.
func (s *service) handleRoot(w http.ResponseWriter, r *http.Request) {
	d, err := s.requestDelay(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.sleep(r.Context(), d); err != nil {
		// The client went away; there is nobody left to answer.
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Version", s.version)
	h.Set("X-Container", s.hostname)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, s.version)
}

// handleHealthz answers 200 "ok" once ready and 503 before (or always 503
// when NEVER_HEALTHY=1).
func (s *service) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Version", s.version)
	if !s.ready() {
		reason := "not ready"
		if s.neverHealthy {
			reason = "never healthy (NEVER_HEALTHY=1)"
		}
		http.Error(w, reason, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

// handleMarker answers VERSION:CONTENT of the file $MARKER_FILE names (a
// release task's effect, for dswap's tests), or 404 while it is missing.
func (s *service) handleMarker(w http.ResponseWriter, _ *http.Request) {
	b, err := os.ReadFile(os.Getenv("MARKER_FILE"))
	if err != nil {
		http.Error(w, "no marker: "+err.Error(), http.StatusNotFound)
		return
	}
	fmt.Fprintf(w, "%s:%s", s.version, b)
}
