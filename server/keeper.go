package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// Upkeeper is what the keeper needs; SwapBackend is one.
type Upkeeper interface {
	Reconcile(ctx context.Context, ref string, log *slog.Logger) (swap.Reconciled, error)
	ManagedRefs(ctx context.Context) ([]string, error)
	Events(ctx context.Context) (<-chan engine.Event, <-chan error)
}

// Keeper keeps the routes of every dswap-managed service right while the
// sidecar runs: once at start (adopting services `docker compose up`
// started), and after Docker events of their containers (start, die,
// destroy, health_status): a restart, a container added or gone, a swap
// interrupted by a crash. Events are debounced per service.
//
// It never fights a swap: it takes the service's lock without waiting, and
// when a swap holds it, it tries again a little later, by when the swap has
// usually finished and the route is already right. It writes a route only
// when its content changes (swap.Reconcile), so an event that changes
// nothing costs Traefik no reload.
type Keeper struct {
	Upkeeper Upkeeper
	Log      *slog.Logger
	// Quiet is how long a service's events must pause before it is
	// looked at (default 500ms); MaxWait bounds the delay under a steady
	// stream of events (default 5s).
	Quiet, MaxWait time.Duration
	// Resync looks at every service this often even without events, as
	// a safety net for missed events; 0 turns it off.
	Resync time.Duration
	// RetryLocked is how soon a service whose lock was held is tried
	// again (default 2s); RetryFailed the first delay after another
	// failure (default 2s), doubled each time, at most MaxFailures tries
	// (default 5: the last about 30 s after the first failure).
	RetryLocked, RetryFailed time.Duration
	MaxFailures              int
	// Swarm, when set, is asked every SwarmPoll (default 1s) for the
	// routed Swarm services, whose tasks raise no events here (see
	// SwarmKeeper).
	Swarm     SwarmKeeper
	SwarmPoll time.Duration
	// Observer, when set, is told of every route the keeper repaired
	// (metrics, notifications).
	Observer Observer

	// clock is the wall clock unless a test drives it.
	clock clock
}

func (k *Keeper) defaults() {
	if k.Quiet <= 0 {
		k.Quiet = 500 * time.Millisecond
	}
	if k.MaxWait <= 0 {
		k.MaxWait = 5 * time.Second
	}
	if k.RetryLocked <= 0 {
		k.RetryLocked = 2 * time.Second
	}
	if k.RetryFailed <= 0 {
		k.RetryFailed = 2 * time.Second
	}
	if k.MaxFailures <= 0 {
		k.MaxFailures = 5
	}
	if k.Log == nil {
		k.Log = slog.New(slog.DiscardHandler)
	}
	if k.clock == nil {
		k.clock = wallClock{}
	}
	if k.SwarmPoll <= 0 {
		k.SwarmPoll = time.Second
	}
}

// relevantRef returns the service an event concerns, if the keeper cares.
func relevantRef(ev engine.Event) (string, bool) {
	switch {
	case ev.Action == "start", ev.Action == "die", ev.Action == "destroy", ev.Health() != "":
		return swap.RefOf(ev.Attributes, ev.Attributes["image"])
	}
	return "", false
}

// Run keeps routes until ctx ends.
func (k *Keeper) Run(ctx context.Context) error {
	k.defaults()
	deb := newDebouncer(k.Quiet, k.MaxWait)
	failures := map[string]int{}
	reported := map[string]string{}
	timer := k.clock.NewTimer(time.Hour)
	defer timer.Stop()
	var resync <-chan time.Time
	if k.Resync > 0 {
		t := time.NewTicker(k.Resync)
		defer t.Stop()
		resync = t.C
	}
	var swarmPoll <-chan time.Time
	if k.Swarm != nil {
		t := time.NewTicker(k.SwarmPoll)
		defer t.Stop()
		swarmPoll = t.C
	}
	backoff := time.Second
	for {
		// Subscribe before listing, so that nothing that happens in
		// between is missed.
		subCtx, unsubscribe := context.WithCancel(ctx)
		events, errs := k.Upkeeper.Events(subCtx)
		k.addAll(ctx, deb)
		broken := false
		for !broken {
			k.arm(timer, deb)
			select {
			case <-ctx.Done():
				unsubscribe()
				return nil
			case ev, ok := <-events:
				if !ok {
					broken = true
					break
				}
				backoff = time.Second
				if ref, ok := relevantRef(ev); ok {
					k.Log.Debug("container event", "service", ref, "action", ev.Action, "container", ev.Attributes["name"])
					deb.add(ref, k.clock.Now())
				} else if ev.Action == "start" {
					// A container dswap does not manage may answer to a
					// routed container's name (a network alias): every
					// service is looked at again, so that a route moves
					// off a name that is taken (swap.Addressing).
					k.Log.Debug("container event", "action", ev.Action, "container", ev.Attributes["name"])
					k.addAll(ctx, deb)
				}
			case err := <-errs:
				k.Log.Warn("the Docker event stream broke; subscribing again", "error", err, "in", backoff)
				broken = true
			case <-resync:
				k.addAll(ctx, deb)
			case <-swarmPoll:
				k.addSwarm(ctx, deb)
			case <-timer.C():
				for _, ref := range deb.due(k.clock.Now()) {
					k.reconcile(ctx, ref, deb, failures, reported)
				}
			}
		}
		unsubscribe()
		wait := k.clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C():
		}
		backoff = min(2*backoff, resubscribeMax)
	}
}

// resubscribeMax bounds the wait between attempts to subscribe again to a
// broken event stream. The stream breaks when the Docker daemon stops, and
// a restarted daemon answers again within seconds: a longer wait would
// leave the routes on the containers' old addresses for that long after
// they are back (a 30 s bound missed one daemon restart in ten in the
// torture run). Asking a local socket every few seconds costs nothing.
const resubscribeMax = 4 * time.Second

// arm sets the timer to the next due key, or stops it when nothing is
// pending. Since Go 1.23 a Reset timer never delivers a stale tick.
func (k *Keeper) arm(timer timer, deb *debouncer) {
	at, ok := deb.next()
	if !ok {
		timer.Stop()
		return
	}
	timer.Reset(max(at.Sub(k.clock.Now()), 0))
}

func (k *Keeper) addAll(ctx context.Context, deb *debouncer) {
	refs, err := k.Upkeeper.ManagedRefs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			k.Log.Warn("listing dswap-managed services", "error", err)
		}
		return
	}
	now := k.clock.Now()
	for _, ref := range refs {
		deb.add(ref, now)
	}
}

func (k *Keeper) reconcile(ctx context.Context, ref string, deb *debouncer, failures map[string]int, reported map[string]string) {
	log := k.Log.With("service", ref)
	var got swap.Reconciled
	var err error
	if name, ok := swarmRef(ref); ok && k.Swarm != nil {
		got, err = k.Swarm.KeepSwarm(ctx, name, log)
	} else {
		got, err = k.Upkeeper.Reconcile(ctx, ref, log)
	}
	switch {
	case err == nil:
		delete(failures, ref)
		delete(reported, ref)
		attrs := []any{"service", ref, "upkeep", got.Upkeep.String(), "containers", got.Containers}
		if len(got.Repaired) > 0 {
			attrs = append(attrs, "repaired", got.Repaired)
		}
		if repaired(got) {
			k.Log.Info("route kept", append(attrs, "took", got.Took)...)
			if k.Observer != nil {
				k.Observer.RouteRepaired(got)
			}
		} else {
			k.Log.Debug("route kept", attrs...)
		}
	case ctx.Err() != nil:
	case errors.Is(err, lock.ErrHeld):
		// A swap is on; by the time it ends the route is usually right.
		k.Log.Debug("a swap holds the service's lock; looking again later", "service", ref, "in", k.RetryLocked)
		deb.retry(ref, k.clock.Now().Add(k.RetryLocked))
	case errors.Is(err, swap.ErrBadInput):
		// The user's to fix (labels, names); said once, until it changes.
		if reported[ref] != err.Error() {
			k.Log.Error("cannot route the service", "service", ref, "error", err)
			reported[ref] = err.Error()
		}
	default:
		failures[ref]++
		n := failures[ref]
		if n >= k.MaxFailures {
			k.Log.Error("giving up on the service's route until its next event", "service", ref, "tries", n, "error", err)
			delete(failures, ref)
			return
		}
		in := k.RetryFailed << (n - 1)
		k.Log.Warn("keeping the service's route failed; trying again", "service", ref, "error", err, "in", in)
		deb.retry(ref, k.clock.Now().Add(in))
	}
}
