package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// Options configure a Server.
type Options struct {
	Backend Backend
	// Token is the bearer token every API call must present. A server
	// without one answers 401 to every call, unless AllowWithoutToken.
	Token string
	// AllowWithoutToken serves the API without a token: for a Unix
	// socket, whose file permissions decide who may call.
	AllowWithoutToken bool
	// RegistryToken authenticates registry notifications (bearer header
	// or ?token=); empty uses Token.
	RegistryToken string
	// GitHubSecret is the webhook secret GitHub signs deliveries with;
	// empty turns the GitHub webhook off.
	GitHubSecret string
	// Hooks map pushed images and GitHub events to services.
	Hooks []Hook
	// StateDir is where the webhooks keep the events they acted on and
	// the workflow runs services got, across restarts; empty keeps them
	// in memory only.
	StateDir string
	// DefaultPull is the pull policy of an API swap that names none.
	DefaultPull engine.PullPolicy
	// MaxRunning bounds the swaps running at once (default 16).
	MaxRunning int
	// BodyTimeout bounds the reading of a request's body (default 10 s);
	// the answer may take longer (?wait=true, event streams).
	BodyTimeout time.Duration
	// Observers are told when a swap ends and of webhook deliveries
	// (metrics, notifications).
	Observers []Observer
	// Metrics, when set, are served at GET /metrics behind the API's
	// token (a separate unauthenticated listener is the caller's).
	Metrics *Metrics
	Log     *slog.Logger
}

// Server is the sidecar's API.
type Server struct {
	opts Options
	log  *slog.Logger
	// base is the context every swap runs under: a swap outlives the
	// request that started it, and ends (rolling back before its flip)
	// only when the sidecar stops.
	base       context.Context
	runs       *runs
	hooksState *hookState
	hooks      []Hook
	observe    observers
	// sessions are the status page's logins; timelines the recorded
	// phases of finished swaps, drawn on the page.
	sessions  *sessions
	timelines *timelines
}

// New returns a server whose swaps run under ctx.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("server: no backend")
	}
	if opts.DefaultPull == "" {
		opts.DefaultPull = engine.PullMissing
	}
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = 16
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = defaultBodyTimeout
	}
	if opts.RegistryToken == "" {
		opts.RegistryToken = opts.Token
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	statePath := ""
	if opts.StateDir != "" {
		statePath = filepath.Join(opts.StateDir, hookStateFile)
	}
	tl := newTimelines()
	return &Server{opts: opts, log: log, base: ctx, runs: newRuns(), hooksState: loadHookState(statePath, maxSeenEvents, log), hooks: opts.Hooks,
		observe: append(observers{tl}, opts.Observers...), sessions: newSessions(nil), timelines: tl}, nil
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/services", s.listServices)
	api.HandleFunc("GET /v1/services/{service}", s.getService)
	api.HandleFunc("GET /v1/services/{service}/history", s.getHistory)
	api.HandleFunc("POST /v1/services/{service}/swap", s.postSwap)
	api.HandleFunc("POST /v1/services/{service}/rollback", s.postRollback)
	api.HandleFunc("POST /v1/services/{service}/promote", s.postPromote)
	api.HandleFunc("POST /v1/services/{service}/abort", s.postAbort)
	api.HandleFunc("POST /v1/swaps", s.postSwap)
	api.HandleFunc("GET /v1/swaps", s.listSwaps)
	api.HandleFunc("GET /v1/swaps/{id}", s.getSwap)
	api.HandleFunc("GET /v1/swaps/{id}/events", s.streamSwap)
	api.HandleFunc("POST /v1/swaps/{id}/cancel", s.cancelSwap)
	api.HandleFunc("GET /v1/swaps/{id}/timeline.svg", s.getTimeline)

	mux := http.NewServeMux()
	// Webhooks authenticate themselves: GitHub by its HMAC signature,
	// a registry by the registry token.
	mux.Handle("POST /v1/hooks/github", s.countDeliveries("github", http.HandlerFunc(s.githubHook)))
	mux.Handle("POST /v1/hooks/registry", s.countDeliveries("registry", http.HandlerFunc(s.registryHook)))
	// The bearer token, or for reading only the status page's session
	// cookie (session.go).
	guard := s.requireAuth
	if s.opts.Token == "" && s.opts.AllowWithoutToken {
		guard = func(h http.Handler) http.Handler { return h }
	}
	mux.Handle("/v1/", guard(s.boundedBodies(api)))
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", guard(s.opts.Metrics.Handler()))
	}
	// The status page (page.go): its files and login are open, what it
	// shows comes from the API above.
	mux.Handle("GET /ui/", pageHandler())
	mux.HandleFunc("POST /ui/login", s.login)
	mux.HandleFunc("POST /ui/logout", s.logout)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint; the API is under /v1/")
	})
	return mux
}

// runSpec is a swap or rollback to start.
type runSpec struct {
	kind      string // swap, rollback, promote or abort
	service   string
	image     string
	pull      engine.PullPolicy
	overrides swap.Overrides
	force     bool
	lockWait  *time.Duration
	trigger   string
}

var errTooManyRunning = errors.New("too many swaps are running in this sidecar")

// start runs a swap or rollback in the background and returns it at once.
func (s *Server) start(spec runSpec) (*run, error) {
	if s.base.Err() != nil {
		return nil, fmt.Errorf("%w: the sidecar is stopping", errTooManyRunning)
	}
	if s.runs.count() >= s.opts.MaxRunning {
		return nil, fmt.Errorf("%w (%d); try again when one has finished", errTooManyRunning, s.opts.MaxRunning)
	}
	r := newRun(spec.kind, spec.service, spec.image, spec.trigger)
	ctx, cancel := context.WithCancel(s.base)
	r.cancel = cancel
	s.runs.add(r)
	log := slog.New(newRecordHandler(r.add, s.log.Handler().WithAttrs([]slog.Attr{slog.String("swap", r.ID)})))
	s.log.Info("swap started", "swap", r.ID, "kind", spec.kind, "service", spec.service, "image", spec.image, "trigger", spec.trigger)
	go func() {
		defer s.runs.done(r)
		defer cancel()
		var res *swap.Result
		var err error
		switch spec.kind {
		case "rollback":
			res, err = s.opts.Backend.Rollback(ctx, spec.service, spec.overrides, log)
		case kindPromote:
			res, err = s.opts.Backend.Promote(ctx, spec.service, spec.overrides, SwapOptions{LockWait: spec.lockWait}, log)
		case kindAbort:
			res, err = s.opts.Backend.Abort(ctx, spec.service, spec.overrides, SwapOptions{LockWait: spec.lockWait}, log)
		default:
			req := swap.Request{Image: spec.image, Service: spec.service, Overrides: spec.overrides, Force: spec.force}
			res, err = s.opts.Backend.Swap(ctx, req, SwapOptions{Pull: spec.pull, LockWait: spec.lockWait}, log)
		}
		out := NewOutcome(res, err)
		out.ID = r.ID
		if out.Service == "" {
			out.Service = spec.service
		}
		if out.To == "" {
			out.To = spec.image
		}
		s.runs.release(r)
		s.observe.SwapEnded(SwapEnd{ID: r.ID, Kind: spec.kind, Trigger: spec.trigger, Result: res, Err: err, Outcome: out})
		r.finish(out)
		level := slog.LevelInfo
		if !out.Succeeded() {
			level = slog.LevelWarn
		}
		s.log.Log(context.WithoutCancel(ctx), level, "swap ended", "swap", r.ID, "service", out.Service, "result", out.Result, "exit code", out.ExitCode, "error", out.Error)
	}()
	return r, nil
}

// Wait waits for running swaps to end (the caller cancels the context
// given to New first, so they roll back or finish their drain).
func (s *Server) Wait(ctx context.Context) error { return s.runs.wait(ctx) }

// Busy says whether the sidecar is swapping the service right now.
func (s *Server) Busy(service string) bool { return s.runs.busy(service) }

// Running counts swaps in progress.
func (s *Server) Running() int { return s.runs.count() }

// Trigger starts a swap for the poller, like an API call would.
func (s *Server) Trigger(service, image string, pull engine.PullPolicy, trigger string) (string, error) {
	r, err := s.start(runSpec{kind: "swap", service: service, image: image, pull: pull, trigger: trigger})
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// Result returns a swap's outcome if it has ended.
func (s *Server) Result(id string) (Outcome, bool) {
	r, ok := s.runs.get(id)
	if !ok {
		return Outcome{Result: resultError, ExitCode: ExitInternal, Error: "swap " + id + " is no longer known"}, true
	}
	_, _, out, _ := r.since(maxRecords)
	if out == nil {
		return Outcome{}, false
	}
	return *out, true
}

// Outcome waits for a swap to end and returns its outcome.
func (s *Server) Outcome(ctx context.Context, id string) (Outcome, error) {
	r, ok := s.runs.get(id)
	if !ok {
		return Outcome{}, fmt.Errorf("no swap %s", id)
	}
	for {
		_, changed, out, _ := r.since(maxRecords)
		if out != nil {
			return *out, nil
		}
		select {
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		case <-changed:
		}
	}
}

// shutdownGrace bounds how long Serve waits for requests in flight (event
// streams end when their swap does) after ctx ends.
const shutdownGrace = 5 * time.Second
