package swarm

import (
	"context"
	"fmt"
	"slices"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
)

// A paused canary (dswap up IMAGE --service NAME --canary 10% --pause) is a
// swap stopped at its last weight, as on one host: the route file holds
// the weighted route with its paused line (labels.MarkPaused), the
// service's tasks serve the stable child and the bridge's the canary one.
// The route file and the bridge service are its whole record, so it
// survives dswap's exit and Traefik's restarts. Then:
//
//   - up, sync and rollback of the service refuse it, and crash repair
//     leaves it alone (it is no interrupted swap);
//   - the keeper leaves the service alone;
//   - dswap promote runs the weights after the paused one (judged), scales
//     the bridge to the replica count and goes on from flip 1 as dswap up;
//   - dswap abort puts all the traffic back on the service's tasks,
//     confirmed, then drains and removes the bridge.

// pausedCanary reads the service's route file; ok is false unless it
// records a paused canary.
func (s *Swapper) pausedCanary(name string) (pc labels.PausedCanary, ok bool, err error) {
	content, exists, err := s.Routes.Read(swap.KeyOf(name))
	if err != nil || !exists {
		return pc, false, err
	}
	pc, ok = labels.ReadPaused(content)
	return pc, ok, nil
}

// refusePaused stops a command that would replace or reroute a service
// whose canary is paused: only promote and abort end a pause.
func (s *Swapper) refusePaused(name string) error {
	pc, ok, err := s.pausedCanary(name)
	if err != nil || !ok {
		return err
	}
	return swap.BadInput("service %s has a paused canary (%d%% of the traffic on the bridge service %s); nothing was changed: finish it first with dswap promote %s (the new version takes all the traffic) or dswap abort %s (back to the service's tasks)", name, pc.Weight, BridgeName(name), name, name)
}

// paused is a paused canary as found under the service's lock.
type paused struct {
	canary labels.PausedCanary
	plan   *plan
	// bridge is nil when the bridge service is gone.
	bridge *engine.SwarmService
	// tasks are the bridge's running tasks of its image.
	tasks   []engine.SwarmTask
	release func()
}

// lockPaused takes the service's lock, layers its settings and finds its
// paused canary and bridge.
func (s *Swapper) lockPaused(ctx context.Context, name string, over swap.Overrides) (*paused, error) {
	svc, release, err := s.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*paused, error) {
		release()
		return nil, err
	}
	st, err := serviceSettings(svc)
	if err != nil {
		return fail(err)
	}
	if s.cfg, err = swap.Layer(over, st); err != nil {
		return fail(err)
	}
	pc, ok, err := s.pausedCanary(name)
	switch {
	case err != nil:
		return fail(err)
	case !ok:
		return fail(swap.BadInput("service %s has no paused canary (its route file %s records none); dswap promote and dswap abort finish a canary started with dswap up IMAGE --service %s --canary 10%% --pause", name, s.Routes.FileFor(swap.KeyOf(name)), name))
	}
	ps := &paused{canary: pc, release: release}
	image := svc.Image
	bridge, err := s.Cluster.SwarmService(ctx, BridgeName(name))
	switch {
	case isNotFound(err):
	case err != nil:
		return fail(err)
	case bridge.Labels[BridgeOfLabel] != name:
		return fail(swap.BadInput("a service named %s exists that dswap did not create (no %s=%s label); it is not the paused canary's bridge: rename or remove it", bridge.Name, BridgeOfLabel, name))
	default:
		ps.bridge = bridge
		if image = bridge.Labels[BridgeImageLabel]; image == "" {
			image = bridge.Image
		}
		tasks, err := s.Cluster.SwarmTasks(ctx, bridge.ID)
		if err != nil {
			return fail(err)
		}
		ps.tasks = running(tasks, bridge.Image)
	}
	if ps.plan, err = s.makePlan(ctx, svc, image); err != nil {
		return fail(err)
	}
	return ps, nil
}

// Promote goes on with the service's paused canary: the weights after the
// paused one (from --canary if given, else those it was started with),
// judged as in up, then the bridge scaled to the replica count and the
// rest of the swap from flip 1. A failed step puts all the traffic back on
// the service's tasks and removes the bridge, as in up.
func (s *Swapper) Promote(ctx context.Context, name string, over swap.Overrides) (*swap.Result, error) {
	started := s.Now()
	s.enter(swap.PhasePlan, "promoting the paused canary", "service", name)
	ps, err := s.lockPaused(ctx, name, over)
	if err != nil {
		return nil, err
	}
	defer ps.release()
	p := ps.plan
	if ps.bridge == nil || len(ps.tasks) == 0 {
		return nil, swap.BadInput("the bridge service %s of service %s's paused canary runs no task of %s; nothing was changed: dswap abort %s puts all the traffic back on the service's tasks", BridgeName(name), name, p.image, name)
	}
	res := &swap.Result{Service: name, FromImage: p.fromImage, ToImage: p.image}
	if tasks, err := s.serviceTasks(ctx, p); err == nil {
		res.Old = taskNames(name, tasks)
	}
	pol := &s.cfg.Canary
	if !pol.Enabled() {
		pol.Weights = ps.canary.Weights
	}
	pol.Weights = slices.DeleteFunc(slices.Clone(pol.Weights), func(w int) bool { return w <= ps.canary.Weight })
	pol.Pause = false
	pol.Sticky = pol.Sticky || ps.canary.Sticky
	if err := s.checkCanary(ctx); err != nil {
		return nil, err
	}
	if err := s.checkMonitor(ctx); err != nil {
		return nil, err
	}
	tasks, err := s.canary(ctx, p, ps.bridge, ps.tasks, res)
	if err == nil && len(tasks) < p.replicas {
		tasks, err = s.growCanary(ctx, p, ps.bridge, res)
	}
	if err == nil {
		res.HealthyAfter = s.Now().Sub(started)
		res.Readiness = readiness(p, s.cfg)
		err = s.throughBridge(ctx, p, ps.bridge, tasks, res)
	}
	res.Total = s.Now().Sub(started)
	res.Steps = s.steps
	s.record(p, res, started, err)
	return res, err
}

// Abort ends the service's paused canary the other way: all the traffic
// back on the service's running tasks (the canary's children gone from
// Traefik, confirmed), then the bridge drained and removed.
func (s *Swapper) Abort(ctx context.Context, name string, over swap.Overrides) (*swap.Result, error) {
	started := s.Now()
	s.enter(swap.PhasePlan, "aborting the paused canary", "service", name)
	ps, err := s.lockPaused(ctx, name, over)
	if err != nil {
		return nil, err
	}
	defer ps.release()
	p := ps.plan
	ctx = context.WithoutCancel(ctx) // an abort half done helps nobody
	res := &swap.Result{Service: name, FromImage: p.image, ToImage: p.fromImage, Old: taskNames(BridgeName(name), ps.tasks)}
	s.enter(swap.PhaseRollback, "taking the canary out: all the traffic back on the service's tasks")
	stable, err := s.serviceTasks(ctx, p)
	if err == nil {
		err = s.routeStable(ctx, p, stable)
	}
	if err != nil {
		return res, fmt.Errorf("aborting the canary of %s: %w; the route still splits the traffic as before: run dswap abort %s again", name, err, name)
	}
	res.New = taskNames(name, stable)
	res.Weights = append(res.Weights, swap.WeightChange{At: s.Now(), Percent: 0})
	if ps.bridge != nil {
		err = s.removeBridge(ctx, ps.bridge)
	}
	if s.History != nil {
		e := history.Entry{ID: fmt.Sprintf("swarm-%d", started.UnixNano()), Service: name, Started: started.UTC(), Duration: s.Now().Sub(started),
			Result: "rolled-back", FromImage: p.image, ToImage: p.fromImage, Containers: res.New, Reason: "canary aborted by dswap abort"}
		if err != nil {
			e.Reason += "; " + err.Error()
		}
		if herr := s.History.Append(swap.KeyOf(name), e); herr != nil {
			s.log.Warn("could not record the abort in the service's history", "error", herr)
		}
	}
	res.Total = s.Now().Sub(started)
	res.Steps = s.steps
	if err != nil {
		return res, fmt.Errorf("all the traffic is back on service %s, but %w; the next dswap of the service removes the bridge, or remove it with docker service rm %s", name, err, BridgeName(name))
	}
	s.enter(swap.PhaseDone, "done: the canary was aborted; the service's tasks take all the traffic")
	return res, nil
}
