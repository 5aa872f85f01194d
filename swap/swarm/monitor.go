package swarm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// --monitor on a Swarm service runs right after flip 1, when the bridge's
// tasks (the new version) have all the traffic and the user's service's
// old tasks still run, unrouted: they stand by, as the old containers do
// on one host. Through the window dswap watches
//
//   - the bridge's tasks: one that leaves `running` (fails, ends, is
//     rejected or shut down, or is gone) is a breach. Swarm stops a task
//     whose health check fails and starts another, so an unhealthy task is
//     one that leaves `running`;
//   - with --max-error-rate or --max-p99, Traefik's metrics of the route
//     since flip 1, judged by the container path's own judge
//     (swap.MonitorJudge).
//
// A breach moves the route back to the service's old tasks, confirmed
// through Traefik's API, then drains and removes the bridge; dswap exits 1
// and the history records the swap as rolled-back, as on one host. When
// the window passes, the swap goes on: the service is updated, flip 2, the
// bridge removed. Ctrl-C during the window ends the watch and the swap
// finishes, as on one host. A dswap killed during the window leaves a route
// naming the bridge's tasks alone: the next dswap of the service finishes
// the swap (crash repair, recover.go), as one host's repair finishes a swap
// killed after its flip.

// errStillOnBridge marks a monitor's breach whose route could not be
// moved back: the bridge, the new version, still serves.
var errStillOnBridge = errors.New("the route still names the bridge's tasks")

// checkMonitor refuses, before anything changes, a --monitor judged on
// metrics that dswap cannot read, and keeps that first read: the old
// version's figures from it to flip 1 are what a relative --max-p99
// compares with.
func (s *Swapper) checkMonitor(ctx context.Context) error {
	if s.cfg.Monitor <= 0 || !s.cfg.Canary.Judged() {
		return nil
	}
	first, err := swap.ReadCanaryMetrics(ctx, s.Metrics)
	if err != nil {
		return err
	}
	s.monitorBaseline = first
	return nil
}

// monitor holds the swap after flip 1 for the --monitor window, watching
// the bridge's tasks (routed, all running) and, when asked, Traefik's
// metrics of the route. A breach is undone (undoMonitor) and returned as
// its swap.FailedError. It returns the context the swap goes on with: ctx,
// or, when dswap was interrupted during the window, ctx without its
// cancellation, so that the swap finishes.
func (s *Swapper) monitor(ctx context.Context, p *plan, bridge *engine.SwarmService, tasks []engine.SwarmTask, res *swap.Result) (context.Context, error) {
	if s.cfg.Monitor <= 0 {
		return ctx, nil
	}
	flipped := time.Now()
	s.enter(swap.PhaseMonitor, "watching the bridge's tasks; the service's old tasks stand by, unrouted", "for", s.cfg.Monitor, "bridge tasks", len(tasks))
	watchCtx, stop := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	defer func() {
		stop()
		watchers.Wait()
	}()
	// Each watcher reports at most once.
	failing := make(chan error, 2)
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		s.watchBridge(watchCtx, p, bridge, tasks, failing)
	}()
	if s.cfg.Canary.Judged() && s.Metrics != nil {
		judge := swap.MonitorJudge{Policy: s.cfg.Canary, Metrics: s.Metrics, Log: s.log, Window: s.cfg.Monitor, Baseline: s.monitorBaseline}
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			judge.Watch(watchCtx, p.routing.ServiceNames(), failing)
		}()
	}
	window := time.NewTimer(s.cfg.Monitor)
	defer window.Stop()
	select {
	case err := <-failing:
		caught := time.Since(flipped).Round(100 * time.Millisecond)
		// The watch is over: nothing may look at the bridge, or write the
		// lock, while the swap is undone.
		stop()
		watchers.Wait()
		s.log.Warn("the new version breached the monitor window; moving the traffic back", "phase", swap.PhaseMonitor.String(), "after flip 1", caught, "reason", err)
		return ctx, s.undoMonitor(ctx, p, bridge, fmt.Errorf("%w (caught %s after flip 1)", err, caught), res)
	case <-ctx.Done():
		s.log.Warn("interrupted while monitoring; traffic stays on the new version and the swap finishes (the service's update, flip 2, the bridge's removal)", "phase", swap.PhaseMonitor.String())
		return context.WithoutCancel(ctx), nil
	case <-window.C:
		s.log.Info("the bridge's tasks stayed up through the monitor window", "phase", swap.PhaseMonitor.String(), "window", s.cfg.Monitor)
		return ctx, nil
	}
}

// watchBridge lists the bridge's tasks every Poll and reports the first
// of the routed ones that is no longer running. It also writes the
// service's lock again every lockRefresh, so a window longer than
// StaleLock does not leave the lock looking abandoned.
func (s *Swapper) watchBridge(ctx context.Context, p *plan, bridge *engine.SwarmService, routed []engine.SwarmTask, failing chan<- error) {
	refreshed := time.Now()
	for {
		if time.Since(refreshed) >= lockRefresh {
			if err := s.refreshLock(ctx, p.name); err != nil && ctx.Err() == nil {
				s.log.Warn("could not write the service's lock again", "phase", swap.PhaseMonitor.String(), "error", err)
			}
			refreshed = time.Now()
		}
		tasks, err := s.Cluster.SwarmTasks(ctx, bridge.ID)
		if err != nil && ctx.Err() == nil {
			// One failed listing is no breach; the next look decides.
			s.log.Warn("could not list the bridge's tasks", "phase", swap.PhaseMonitor.String(), "error", err)
		}
		if err == nil {
			if err := leftRunning(tasks, routed); err != nil {
				failing <- fmt.Errorf("%w, within the --monitor window of %s", err, s.cfg.Monitor)
				return
			}
		}
		if sleep(ctx, s.Poll) != nil {
			return
		}
	}
}

// leftRunning is the first of the routed tasks that no longer runs, as
// tasks (the bridge's, listed now) show it: a *taskFailure when Swarm
// still lists it, else an error naming it.
func leftRunning(tasks, routed []engine.SwarmTask) error {
	byID := make(map[string]engine.SwarmTask, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	for _, r := range routed {
		t, ok := byID[r.ID]
		switch {
		case !ok:
			return fmt.Errorf("task %s (slot %d) of the bridge is gone from Swarm's task list", shortID(r.ID), r.Slot)
		case !t.Running():
			return fmt.Errorf("a task of the bridge stopped running: %w", &taskFailure{task: t})
		}
	}
	return nil
}

// undoMonitor undoes a swap whose new version breached the monitor window
// (cause): the route goes back to the service's running tasks, which
// stood by, confirmed through Traefik; then the bridge, which served, is
// drained and removed, even if ctx was cancelled. It returns the
// swap.FailedError that ends dswap with exit code 1. When the route
// cannot be moved back, the bridge stays (it serves) and the error says
// how to put it right.
func (s *Swapper) undoMonitor(ctx context.Context, p *plan, bridge *engine.SwarmService, cause error, res *swap.Result) error {
	ctx = context.WithoutCancel(ctx)
	fe := &swap.FailedError{Service: p.name, Phase: swap.PhaseMonitor, Reason: cause}
	s.enter(swap.PhaseRollback, "moving the route back to the service's old tasks, which stood by", "reason", cause)
	stuck := fmt.Sprintf("%s still serves on the bridge service %s (routed); service %s's old tasks (%s) still run, unrouted. dswap sync %s finishes the swap to %s once Traefik answers, and dswap rollback %s then goes back to %s",
		p.image, bridge.Name, p.name, p.fromImage, p.name, p.image, p.name, p.fromImage)
	n, back := s.routeBack(ctx, p, fe, stuck)
	// The failed task and the bridge's last log lines are read only now:
	// while a stopped task is routed, every request Traefik sends it fails.
	s.diagnose(ctx, bridge, cause, fe)
	if !back {
		fe.RollbackErr = fmt.Errorf("%w: %w", errStillOnBridge, fe.RollbackErr)
		s.enter(swap.PhaseFailed, "swap failed; the route could not be moved back, so the bridge still serves the new version")
		return fe
	}
	if s.cfg.Canary.Enabled() {
		res.Weights = append(res.Weights, swap.WeightChange{At: s.Now(), Percent: 0})
	}
	s.dropBridge(ctx, p, bridge, fe, n)
	s.enter(swap.PhaseFailed, "swap failed; rolled back", "kept", fe.Kept)
	return fe
}

// rolledBackByMonitor says whether fe is a monitor's breach undone, the
// old version serving again: recorded as rolled-back, as on one host.
func rolledBackByMonitor(fe *swap.FailedError) bool {
	return fe.Phase == swap.PhaseMonitor && !errors.Is(fe.RollbackErr, errStillOnBridge)
}
