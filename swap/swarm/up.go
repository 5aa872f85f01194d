package swarm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/swap"
)

// Up swaps the Swarm service req.Service to req.Image through a bridge
// service (see the package comment).
func (s *Swapper) Up(ctx context.Context, req swap.Request) (*swap.Result, error) {
	started := s.Now()
	s.enter(swap.PhasePlan, "planning", "image", req.Image, "service", req.Service)
	svc, release, err := s.prepare(ctx, req.Service, req.Overrides)
	if err != nil {
		return nil, err
	}
	defer release()
	image := s.resolve(ctx, req.Image)
	res := &swap.Result{Service: svc.Name, FromImage: svc.Image, ToImage: image}
	tasks, err := s.Cluster.SwarmTasks(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	res.Old = taskNames(svc.Name, running(tasks, svc.Image))
	if svc.Image == image && !req.Force {
		return s.noop(ctx, svc, res, started)
	}
	p, err := s.makePlan(ctx, svc, image)
	if err != nil {
		return nil, err
	}
	if err := s.checkCanary(ctx); err != nil {
		return nil, err
	}
	if req.SkipTasks {
		s.cfg.Tasks.Pre, s.cfg.Tasks.Post = nil, nil
	}
	if err := s.checkMonitor(ctx); err != nil {
		return nil, err
	}
	err = s.rollout(ctx, p, res, started)
	res.Total = s.Now().Sub(started)
	res.Steps = s.steps
	s.record(p, res, started, err)
	return res, err
}

// resolveTimeout bounds the registry's answer for an image's digest.
const resolveTimeout = 15 * time.Second

// resolve pins image to its registry's digest as `docker stack deploy`
// writes it, so that the service's spec after the swap is what a later
// stack deploy of a file naming image writes too (see docs/swarm.md). No
// registry answering is not an error: image is used as given, as the
// docker CLI does.
func (s *Swapper) resolve(ctx context.Context, image string) string {
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	pinned, err := s.Cluster.ResolveImage(rctx, image)
	if err != nil {
		s.log.Warn("the image's digest is not known (no registry answered), so the service names it by tag, as docker stack deploy would; each node uses the image it has under that tag", "phase", swap.PhasePlan.String(), "image", image, "reason", err)
		return image
	}
	if pinned != image {
		s.log.Info("image pinned to its registry's digest, as docker stack deploy pins it", "phase", swap.PhasePlan.String(), "image", pinned)
	}
	return pinned
}

// prepare takes the service's lock, layers its settings and puts right
// what an interrupted swap left. It returns the service as it is then.
func (s *Swapper) prepare(ctx context.Context, name string, over swap.Overrides) (*engine.SwarmService, func(), error) {
	svc, release, err := s.lock(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*engine.SwarmService, func(), error) {
		release()
		return nil, nil, err
	}
	st, err := serviceSettings(svc)
	if err != nil {
		return fail(err)
	}
	if s.cfg, err = swap.Layer(over, st); err != nil {
		return fail(err)
	}
	if err := refuseUnsupported(over, st); err != nil {
		return fail(err)
	}
	if err := s.refusePaused(name); err != nil {
		return fail(err)
	}
	s.cfg.Update.Parallelism = parallelism(over, st)
	s.removeLeftTasks(ctx, name)
	repaired, err := s.repair(ctx, svc)
	if err != nil {
		return fail(err)
	}
	if repaired {
		if svc, err = s.Cluster.SwarmService(ctx, name); err != nil {
			return fail(err)
		}
	}
	return svc, release, nil
}

// rollout runs steps 2 to 6 of a swap.
func (s *Swapper) rollout(ctx context.Context, p *plan, res *swap.Result, started time.Time) error {
	if err := s.preTasks(ctx, p, res); err != nil {
		return err
	}
	// --canary and --parallelism do not combine on Swarm (refused in
	// plan.go): at most one of them starts the bridge below the replica
	// count.
	bridge, bridgeTasks, err := s.startBridge(ctx, p, min(s.bridgeReplicas(p), s.batchSize(p)))
	if err != nil {
		return err
	}
	if bridgeTasks, err = s.canary(ctx, p, bridge, bridgeTasks, res); err != nil || res.Paused != "" {
		return err
	}
	if bridgeTasks, err = s.batches(ctx, p, bridge, bridgeTasks); err != nil {
		return err
	}
	res.HealthyAfter = s.Now().Sub(started)
	res.Readiness = readiness(p, s.cfg)
	return s.throughBridge(ctx, p, bridge, bridgeTasks, res)
}

// throughBridge runs steps 3 to 6 of a swap, from a bridge whose tasks all
// run healthy: flip 1, the service's update, flip 2, the bridge's removal.
func (s *Swapper) throughBridge(ctx context.Context, p *plan, bridge *engine.SwarmService, bridgeTasks []engine.SwarmTask, res *swap.Result) error {
	healthyAt := s.Now()
	var err error
	s.enter(swap.PhaseFlip, "moving the route to the bridge's tasks", "tasks", len(bridgeTasks))
	if res.Flip, err = s.route(ctx, p, bridgeTasks); err != nil {
		if s.batched(p) {
			// commitRoute put the previous batch's route back: both
			// versions serve.
			return s.undoBatches(ctx, p, bridge, s.batchCount(p), s.batchCount(p), fmt.Errorf("moving the route to the bridge: %w", err))
		}
		// commitRoute put the previous file back: the old tasks serve.
		fe := s.failed(ctx, p, bridge, fmt.Errorf("moving the route to the bridge: %w", err))
		s.removeNow(ctx, bridge)
		return fe
	}
	res.RoutedAfterHealthy = s.Now().Sub(healthyAt)
	s.canaryPromoted(res)
	if ctx, err = s.monitor(ctx, p, bridge, bridgeTasks, res); err != nil {
		return err
	}
	if err := s.postTasks(ctx, p, bridge, res); err != nil {
		return err
	}

	news, err := s.updateService(ctx, p)
	if err != nil {
		return s.stranded(p, bridge, fmt.Errorf("updating service %s: %w", p.name, err))
	}
	s.enter(swap.PhaseFlip, "moving the route to the service's new tasks", "tasks", len(news))
	if _, err := s.route(ctx, p, news); err != nil {
		return s.stranded(p, bridge, fmt.Errorf("moving the route back to service %s: %w", p.name, err))
	}
	res.New = taskNames(p.name, news)
	if err := s.removeBridge(ctx, bridge); err != nil {
		s.enter(swap.PhaseDone, "done, but the bridge service is left", "error", err)
		return fmt.Errorf("service %s now runs %s and is routed, but %w; the next dswap of the service removes it, or remove it with docker service rm %s", p.name, p.image, err, bridge.Name)
	}
	return s.finished(p, res)
}

// stranded is an error after the first flip: the bridge serves the new
// version and stays, so nothing is dropped; the next dswap of the service
// finishes the swap (see repair).
func (s *Swapper) stranded(p *plan, bridge *engine.SwarmService, cause error) error {
	s.enter(swap.PhaseFailed, "swap stopped midway; the bridge serves the new version", "bridge", bridge.Name, "reason", cause)
	return &swap.FailedError{Service: p.name, Phase: swap.PhaseDrain, Reason: cause,
		Kept: fmt.Sprintf("%s serves on the bridge service %s (routed); service %s is left as Swarm has it. Run dswap sync %s (or dswap up again) to finish the swap once the cause is fixed", p.image, bridge.Name, p.name, p.name)}
}

// noop makes sure the route names the running tasks of a service that
// already runs the image.
func (s *Swapper) noop(ctx context.Context, svc *engine.SwarmService, res *swap.Result, started time.Time) (*swap.Result, error) {
	res.Noop = true
	res.New = res.Old
	if _, err := s.sync(ctx, svc); err != nil {
		return nil, err
	}
	s.enter(swap.PhaseDone, "already running this image; nothing to swap (pass --force to swap anyway)")
	res.Total = s.Now().Sub(started)
	res.Steps = s.steps
	return res, nil
}

func readiness(p *plan, cfg swap.Config) string {
	if p.healthcheck == nil {
		return fmt.Sprintf("no health check: Swarm reported the tasks running and they stayed up for --settle %s", cfg.Settle)
	}
	return "Swarm reported every task running, which it does only once its container is healthy"
}

// taskNames are the tasks' names as docker service ps prints them.
func taskNames(service string, tasks []engine.SwarmTask) []string {
	out := make([]string, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, fmt.Sprintf("%s.%d", service, t.Slot))
	}
	return out
}

// record appends the swap's outcome to the service's history.
func (s *Swapper) record(p *plan, res *swap.Result, started time.Time, err error) {
	if s.History == nil || errors.Is(err, swap.ErrBadInput) {
		return
	}
	e := history.Entry{ID: fmt.Sprintf("swarm-%d", started.UnixNano()), Service: p.name, Started: started.UTC(), Duration: s.Now().Sub(started),
		Result: "swapped", FromImage: p.fromImage, ToImage: p.image, ToImageID: p.imageID, Containers: res.New, Canary: swap.CanaryHistory(res.Canary)}
	for _, t := range res.Tasks {
		e.Tasks = append(e.Tasks, history.Task{Stage: t.Stage, Command: t.Command, ExitCode: t.ExitCode, Duration: t.Took, Failure: t.Failure, Output: t.Output})
	}
	if err == nil && res.Paused != "" {
		e.Result, e.Reason = "paused", res.Paused
	}
	if err != nil {
		e.Result, e.Reason = "failed", err.Error()
		if fe, ok := err.(*swap.FailedError); ok && fe.Phase == swap.PhaseDrain {
			e.Result = "stranded"
		}
		if fe, ok := err.(*swap.FailedError); ok && (errors.Is(err, swap.ErrCanaryFailed) || rolledBackByMonitor(fe)) {
			// As on one host: the canary, or the monitor, judged the new
			// version bad and took it out.
			e.Result, e.Reason = "rolled-back", fe.Reason.Error()
		}
		if result, reason, ok := taskRecord(res, err); ok {
			e.Result, e.Reason = result, reason
		}
	}
	if herr := s.History.Append(swap.KeyOf(p.name), e); herr != nil {
		s.log.Warn("could not record the swap in its history", "error", herr)
	}
}
