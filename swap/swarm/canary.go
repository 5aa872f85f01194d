package swarm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// A canary on a Swarm service runs between the bridge's start and flip 1:
//
//  1. the bridge starts with --canary-replicas tasks (1 by default, as on
//     one host), healthy;
//  2. each weight of --canary is a weighted route: the service's running
//     tasks are the stable child, the bridge's the canary child (the
//     container path's labels.Split), written and confirmed through
//     Traefik's API, held for --step and judged on Traefik's metrics of
//     the two children by the container path's own gate (swap.StepJudge);
//     a bridge task that fails meanwhile fails the step;
//  3. once every step passed, the bridge is scaled to the service's
//     replica count and waited on until all its tasks run healthy; flip 1
//     then gives it all the traffic, and the swap goes on as without a
//     canary.
//
// A failed step (or bridge task, or the scale-up) puts all the traffic
// back on the service's tasks, confirmed, and only then drains and
// removes the bridge: the requests Traefik sent the canary finish within
// the drain window. dswap exits 1 with the step's figures, and the
// history records the swap as rolled-back, as on one host.

// checkCanary refuses, before anything changes, a canary judged on
// metrics that dswap cannot read.
func (s *Swapper) checkCanary(ctx context.Context) error {
	if !s.cfg.Canary.Enabled() || !s.cfg.Canary.Judged() {
		return nil
	}
	_, err := swap.ReadCanaryMetrics(ctx, s.Metrics)
	return err
}

// bridgeReplicas is how many tasks the bridge starts with: the canary's,
// at most the service's replica count, else all of them.
func (s *Swapper) bridgeReplicas(p *plan) int {
	if !s.cfg.Canary.Enabled() {
		return p.replicas
	}
	return min(max(s.cfg.Canary.Replicas, 1), p.replicas)
}

// canary runs the canary's steps on the bridge's first tasks and, once
// every step passed, scales the bridge to the service's replica count. It
// returns the bridge's tasks, all of them running healthy, for flip 1;
// without --canary it returns tasks as they are. With --pause it stops at
// the last weight, unjudged, and sets res.Paused: the swap ends there, the
// bridge and the split route stay. On a failure it undoes the canary
// (undoCanary) and returns its swap.FailedError.
func (s *Swapper) canary(ctx context.Context, p *plan, bridge *engine.SwarmService, tasks []engine.SwarmTask, res *swap.Result) ([]engine.SwarmTask, error) {
	pol := s.cfg.Canary
	if !pol.Enabled() {
		return tasks, nil
	}
	stable, err := s.serviceTasks(ctx, p)
	if err != nil {
		return nil, s.undoCanary(ctx, p, bridge, err, res)
	}
	sp := labels.Split{Sticky: pol.Sticky}
	if sp.Stable, err = targets(stable, p.network); err != nil {
		return nil, s.undoCanary(ctx, p, bridge, err, res)
	}
	if sp.Canary, err = targets(tasks, p.network); err != nil {
		return nil, s.undoCanary(ctx, p, bridge, err, res)
	}
	stableNames, canaryNames := p.routing.ChildNames()
	judge := swap.StepJudge{Policy: pol, Metrics: s.Metrics, Log: s.log}
	for i, weight := range pol.Weights {
		sp.CanaryWeight = weight
		s.enter(swap.PhaseCanary, fmt.Sprintf("canary step %d of %d: %d%% of the traffic on the new version", i+1, len(pol.Weights), weight),
			"for", pol.Step, "canary tasks", len(tasks), "stable tasks", len(stable))
		content, err := p.routing.WeightedFile(p.name, sp)
		if err != nil {
			return nil, s.undoCanary(ctx, p, bridge, err, res)
		}
		last := i == len(pol.Weights)-1
		if last && pol.Pause {
			// The paused line tells later commands and the keeper to
			// leave the split alone (canarypause.go).
			content = labels.MarkPaused(content, pol.Weights, pol.Sticky)
		}
		exp := traefik.Expectation{Servers: p.routing.WeightedServerURLs(sp), Routers: p.routing.RouterNames()}
		took, err := s.commit(ctx, p, content, exp)
		if err != nil {
			return nil, s.undoCanary(ctx, p, bridge, fmt.Errorf("moving %d%% of the traffic to the new version: %w", weight, err), res)
		}
		res.Weights = append(res.Weights, swap.WeightChange{At: s.Now(), Percent: weight})
		s.log.Info("weights applied", "phase", swap.PhaseCanary.String(), "canary", fmt.Sprintf("%d%%", weight), "stable", fmt.Sprintf("%d%%", 100-weight), "took", took.Round(time.Millisecond))
		if last && pol.Pause {
			res.Canary = append(res.Canary, swap.CanaryStep{Weight: weight, Verdict: "paused", Reason: fmt.Sprintf("paused at %d%%: dswap promote %s goes on, dswap abort %s goes back", weight, p.name, p.name)})
			res.Paused = fmt.Sprintf("canary paused: %s takes %d%% of the traffic (bridge %s), %s the rest; run dswap promote %s to go on, or dswap abort %s to go back", p.image, weight, bridge.Name, p.fromImage, p.name, p.name)
			s.enter(swap.PhaseDone, "canary paused at its last weight", "weight", weight)
			return tasks, nil
		}
		step, err := s.watchedStep(ctx, judge, p, bridge, weight, stableNames, canaryNames)
		if step != nil {
			res.Canary = append(res.Canary, *step)
		}
		if err != nil {
			return nil, s.undoCanary(ctx, p, bridge, err, res)
		}
	}
	if len(tasks) >= p.replicas {
		return tasks, nil
	}
	return s.growCanary(ctx, p, bridge, res)
}

// growCanary scales the bridge, after its canary passed, to the service's
// replica count and waits until all its tasks run healthy. Its canary
// tasks keep their share of the traffic meanwhile.
func (s *Swapper) growCanary(ctx context.Context, p *plan, bridge *engine.SwarmService, res *swap.Result) ([]engine.SwarmTask, error) {
	s.enter(swap.PhaseHealth, "every canary step passed; scaling the bridge to the service's replica count", "bridge", bridge.Name, "replicas", p.replicas)
	tasks, err := s.resizeBridge(ctx, p, bridge, p.replicas)
	if err != nil {
		return nil, s.undoCanary(ctx, p, bridge, fmt.Errorf("scaling the bridge to %d tasks after the canary: %w", p.replicas, err), res)
	}
	return tasks, nil
}

// lockRefresh is how often a canary step writes the service's lock again
// (refreshLock): well within StaleLock.
const lockRefresh = time.Minute

// canaryPromoted records, after flip 1 of a canary swap, that the new
// version has all the traffic.
func (s *Swapper) canaryPromoted(res *swap.Result) {
	if s.cfg.Canary.Enabled() {
		res.Weights = append(res.Weights, swap.WeightChange{At: s.Now(), Percent: 100})
	}
}

// watchedStep holds and judges one step while watching the bridge's
// tasks: one that fails (or ends, or is rejected) fails the step at once,
// whatever the metrics say so far.
func (s *Swapper) watchedStep(ctx context.Context, judge swap.StepJudge, p *plan, bridge *engine.SwarmService, weight int, stableNames, canaryNames []string) (*swap.CanaryStep, error) {
	stepCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	since := s.Now().Add(-time.Second)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		var refreshed time.Time
		for {
			if s.Now().Sub(refreshed) >= lockRefresh {
				// A canary can outlast StaleLock; its lock must not
				// look abandoned meanwhile.
				if err := s.refreshLock(stepCtx, p.name); err != nil && stepCtx.Err() == nil {
					s.log.Warn("could not write the service's lock again", "phase", swap.PhaseCanary.String(), "error", err)
				}
				refreshed = s.Now()
			}
			if tasks, err := s.Cluster.SwarmTasks(stepCtx, bridge.ID); err == nil {
				if f := failedSince(tasks, p.image, since); f != nil {
					cancel(f)
					return
				}
			}
			if sleep(stepCtx, s.Poll) != nil {
				return
			}
		}
	}()
	start := s.Now()
	step, err := judge.Run(stepCtx, weight, stableNames, canaryNames)
	cancel(nil)
	<-watched
	var f *taskFailure
	if cause := context.Cause(stepCtx); err != nil && errors.As(cause, &f) {
		err = fmt.Errorf("a task of the bridge failed during the %d%% canary step: %w", weight, f)
		step = &swap.CanaryStep{Weight: weight, Took: s.Now().Sub(start), Verdict: "fail", Reason: err.Error()}
		s.log.Warn("canary step failed", "phase", swap.PhaseCanary.String(), "weight", weight, "verdict", step.Verdict, "reason", step.Reason)
	}
	return step, err
}

// undoCanary puts all the traffic back on the service's running tasks,
// confirmed by Traefik (both children gone), then drains and removes the
// bridge, even if ctx was cancelled. It returns the swap.FailedError that
// ends dswap with exit code 1.
func (s *Swapper) undoCanary(ctx context.Context, p *plan, bridge *engine.SwarmService, cause error, res *swap.Result) error {
	ctx = context.WithoutCancel(ctx)
	fe := &swap.FailedError{Service: p.name, Phase: s.phase, Reason: cause, Kept: fmt.Sprintf("%s (service %s) keeps serving, unchanged", p.fromImage, p.name)}
	s.diagnose(ctx, bridge, cause, fe)
	s.enter(swap.PhaseRollback, "taking the canary out: all the traffic back on the service's tasks", "reason", cause)
	stable, err := s.serviceTasks(ctx, p)
	if err == nil {
		err = s.routeStable(ctx, p, stable)
	}
	if err != nil {
		fe.RollbackErr = fmt.Errorf("putting all the traffic back on service %s's tasks failed: %w; the bridge %s is left running, so it still answers what Traefik sends it; once the cause is fixed, dswap sync %s routes the service alone and removes the bridge", p.name, err, bridge.Name, p.name)
		s.enter(swap.PhaseFailed, "swap failed; the canary's bridge is left running", "bridge", bridge.Name)
		return fe
	}
	res.Weights = append(res.Weights, swap.WeightChange{At: s.Now(), Percent: 0})
	if err := s.removeBridge(ctx, bridge); err != nil {
		fe.RollbackErr = fmt.Errorf("the traffic is back on service %s, but %w; the next dswap of the service removes it, or remove it with docker service rm %s", p.name, err, bridge.Name)
	}
	s.enter(swap.PhaseFailed, "swap failed; rolled back", "kept", fe.Kept)
	return fe
}

// serviceTasks are the running tasks of the user's service, the canary's
// stable side.
func (s *Swapper) serviceTasks(ctx context.Context, p *plan) ([]engine.SwarmTask, error) {
	tasks, err := s.Cluster.SwarmTasks(ctx, p.svc.ID)
	if err != nil {
		return nil, err
	}
	live := runningAny(tasks)
	if len(live) == 0 {
		return nil, fmt.Errorf("service %s has no running task to keep the rest of the traffic", p.name)
	}
	return live, nil
}

// routeStable writes the service's plain route naming these tasks and
// waits until Traefik shows it with the canary's children gone.
func (s *Swapper) routeStable(ctx context.Context, p *plan, tasks []engine.SwarmTask) error {
	ts, err := targets(tasks, p.network)
	if err != nil {
		return err
	}
	content, err := p.routing.File(p.name, ts)
	if err != nil {
		return err
	}
	stableNames, canaryNames := p.routing.ChildNames()
	exp := traefik.Expectation{Servers: p.routing.ServerURLs(ts), Routers: p.routing.RouterNames(), Absent: append(stableNames, canaryNames...)}
	_, err = s.commit(ctx, p, content, exp)
	return err
}

// commit writes a route file's content and waits until Traefik shows exp
// for this very write, as every flip (route).
func (s *Swapper) commit(ctx context.Context, p *plan, content []byte, exp traefik.Expectation) (time.Duration, error) {
	took, err := swap.CommitRoute(ctx, s.routeDeps(), s.cfg.FlipTimeout, s.phase, swap.KeyOf(p.name), content, exp)
	if err != nil {
		return took, err
	}
	s.log.Info("route applied", "phase", s.phase.String(), "file", s.Routes.FileFor(swap.KeyOf(p.name)), "servers", strings.Join(flatten(exp.Servers), ","), "took", took.Round(time.Millisecond), "confirmed by", s.Traefik.ConfirmedBy())
	return took, nil
}

// flatten lists every server of exp's services, by service name.
func flatten(servers map[string][]string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		out = append(out, servers[name]...)
	}
	return out
}
