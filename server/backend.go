package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

// Backend is what the API does to services. SwapBackend is the real one;
// tests fake it.
type Backend interface {
	Swap(ctx context.Context, req swap.Request, opts SwapOptions, log *slog.Logger) (*swap.Result, error)
	Rollback(ctx context.Context, service string, over swap.Overrides, log *slog.Logger) (*swap.Result, error)
	// Promote and Abort end a paused canary (swap/pause.go); of opts
	// only LockWait applies.
	Promote(ctx context.Context, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error)
	Abort(ctx context.Context, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error)
	Status(ctx context.Context, service string) ([]swap.Status, error)
	// SwarmStatus reports the routed Swarm services (service "") or one
	// Swarm service; nil when service names none (swarmstatus.go).
	SwarmStatus(ctx context.Context, service string) ([]*swarmswap.Status, error)
	// History lists a service's past swaps, a Swarm service's too.
	History(ctx context.Context, service string) ([]history.Entry, error)
}

// SwapOptions are the settings of a swap that are not the swap's own:
// how to get the image and how long to wait for the service's lock.
type SwapOptions struct {
	Pull engine.PullPolicy
	// LockWait, when set, replaces the sidecar's --lock-wait.
	LockWait *time.Duration
}

// SwapBackend runs everything through package swap with one set of
// dependencies, made once by the caller. Each call gets a Swapper of its
// own, with its own logger.
type SwapBackend struct {
	// Deps are the swap's dependencies; Deps.Log is replaced per call.
	Deps swap.Deps
	// ImagesFor returns the image getter for a pull policy, logging to
	// log; nil uses Deps.Images whatever the policy.
	ImagesFor func(policy engine.PullPolicy, log *slog.Logger) swap.Images
	// KeeperLocks are the locks the keeper takes: without waiting, so
	// that it never queues behind a swap (it retries later instead).
	KeeperLocks swap.Locker
	// Swarm, when set, are the Swarm swap's dependencies: the keeper
	// follows the routed Swarm services' tasks with them.
	Swarm *swarmswap.Deps
}

func (b *SwapBackend) swapper(log *slog.Logger, pull engine.PullPolicy) *swap.Swapper {
	d := b.Deps
	d.Log = log
	if b.ImagesFor != nil {
		d.Images = b.ImagesFor(pull, log)
	}
	return swap.New(d)
}

// Swap swaps a service to an image, pulling it as opts say.
func (b *SwapBackend) Swap(ctx context.Context, req swap.Request, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	if d, ok := b.swarmDeps(ctx, req.Service, log); ok {
		if opts.LockWait != nil {
			d.LockWait = *opts.LockWait
		}
		return swarmswap.New(d).Up(ctx, req)
	}
	return b.locking(log, opts).Up(ctx, req)
}

// Promote goes on with a service's paused canary.
func (b *SwapBackend) Promote(ctx context.Context, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	if d, ok := b.swarmDeps(ctx, service, log); ok {
		return swarmswap.New(d).Promote(ctx, service, over)
	}
	opts.Pull = engine.PullNever // the canary's image is the one its containers run
	return b.locking(log, opts).Promote(ctx, service, over)
}

// Abort ends a service's paused canary, back to the old version.
func (b *SwapBackend) Abort(ctx context.Context, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	if d, ok := b.swarmDeps(ctx, service, log); ok {
		return swarmswap.New(d).Abort(ctx, service, over)
	}
	opts.Pull = engine.PullNever
	return b.locking(log, opts).Abort(ctx, service, over)
}

// locking is a swapper that waits for the service's lock as opts say,
// telling this run's log while it waits.
func (b *SwapBackend) locking(log *slog.Logger, opts SwapOptions) *swap.Swapper {
	s := b.swapper(log, opts.Pull)
	s.LockWait = lock.Wait{
		Max: opts.LockWait,
		// A waiter's message goes to this swap's own log.
		Report: func(key string, h lock.Holder, max time.Duration) {
			log.Warn("waiting for another dswap to finish with this service", "phase", swap.PhasePlan.String(), "service", key, "holder", h.String(), "up to", max)
		},
	}
	return s
}

// swarmDeps are the Swarm swap's dependencies, logging to log, when
// service names a Swarm service here: the sidecar swaps it as dswap up
// does.
func (b *SwapBackend) swarmDeps(ctx context.Context, service string, log *slog.Logger) (swarmswap.Deps, bool) {
	if b.Swarm == nil {
		return swarmswap.Deps{}, false
	}
	ok, err := swarmswap.IsService(ctx, b.Swarm.Cluster, service)
	if err != nil || !ok {
		return swarmswap.Deps{}, false
	}
	d := *b.Swarm
	d.Log = log
	return d, true
}

// Rollback swaps a service back to the image it ran before its last swap.
func (b *SwapBackend) Rollback(ctx context.Context, service string, over swap.Overrides, log *slog.Logger) (*swap.Result, error) {
	if d, ok := b.swarmDeps(ctx, service, log); ok {
		return swarmswap.New(d).Rollback(ctx, service, over)
	}
	return b.swapper(log, engine.PullMissing).Rollback(ctx, service, over)
}

// Status reports managed services (or one). Only one service's status
// reads the live figures of its canary (Deps.LiveWindow): the list, which
// the status page polls, answers at once with the weights.
func (b *SwapBackend) Status(ctx context.Context, service string) ([]swap.Status, error) {
	s := b.swapper(nil, engine.PullNever)
	if service == "" {
		s.LiveWindow = 0
	}
	return s.StatusOf(ctx, service)
}

// History lists a service's past swaps: a Swarm service's from its own
// record, a set of containers' under its key.
func (b *SwapBackend) History(ctx context.Context, service string) ([]history.Entry, error) {
	if entries, ok, err := b.swarmHistory(ctx, service); err != nil || ok {
		return entries, err
	}
	if b.Deps.History == nil {
		return nil, nil
	}
	all, err := b.Deps.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, err
	}
	svc, err := swap.FindService(all, service, "")
	if err != nil {
		return nil, err
	}
	return b.Deps.History.Read(svc.Key())
}

// Reconcile puts one service's route right, for the keeper.
func (b *SwapBackend) Reconcile(ctx context.Context, ref string, log *slog.Logger) (swap.Reconciled, error) {
	d := b.Deps
	d.Log = log
	if b.KeeperLocks != nil {
		d.Locks = b.KeeperLocks
	}
	return swap.New(d).Reconcile(ctx, ref, swap.Overrides{})
}

// ManagedRefs lists the dswap-managed services.
func (b *SwapBackend) ManagedRefs(ctx context.Context) ([]string, error) {
	return swap.New(b.Deps).ManagedRefs(ctx)
}

// Events streams container events.
func (b *SwapBackend) Events(ctx context.Context) (<-chan engine.Event, <-chan error) {
	return b.Deps.Docker.Events(ctx, engine.EventFilter{})
}

// Pull pulls ref from its registry whatever is local, for the poller.
func (b *SwapBackend) Pull(ctx context.Context, ref string, log *slog.Logger) (*engine.Image, error) {
	if b.ImagesFor == nil {
		return nil, fmt.Errorf("polling %s: this sidecar cannot pull images", ref)
	}
	return b.ImagesFor(engine.PullAlways, log).Ensure(ctx, ref, engine.Source{})
}

// RunningImageIDs returns the image IDs the service's running containers
// run, for the poller.
func (b *SwapBackend) RunningImageIDs(ctx context.Context, service string) ([]string, error) {
	all, err := b.Deps.Docker.List(ctx, engine.ListFilter{})
	if err != nil {
		return nil, err
	}
	svc, err := swap.FindService(all, service, "")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range svc.Running {
		ids = append(ids, c.ImageID)
	}
	return ids, nil
}
