package swarm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// bridgeSpec is the bridge service of a swap: the user's service's spec
// with the new image, under BridgeName, marked as dswap's (see
// engine.SwarmService.Bridge for what is copied and what not).
func bridgeSpec(svc *engine.SwarmService, image string) *engine.SwarmService {
	return svc.Bridge(BridgeName(svc.Name), image, ownLabels, map[string]string{
		BridgeOfLabel:    svc.Name,
		BridgeImageLabel: image,
	})
}

// startBridge creates the bridge service with replicas tasks (all of the
// service's, a canary's or the first batch's) and waits until they run
// healthy with the new image. On failure it removes the bridge (it never
// served) and returns a swap.FailedError with the failed task's error and
// the bridge's last log lines.
func (s *Swapper) startBridge(ctx context.Context, p *plan, replicas int) (*engine.SwarmService, []engine.SwarmTask, error) {
	spec := bridgeSpec(p.svc, p.image).Scaled(uint64(replicas))
	if len(p.svc.PublishedPorts) > 0 {
		s.log.Warn("the service publishes ports; the bridge does not (two services cannot hold one port): during the swap, traffic through those ports reaches the old tasks only", "phase", s.phase.String(), "service", p.name)
	}
	s.enter(swap.PhaseCreate, "creating the bridge service", "bridge", spec.Name, "image", p.image, "replicas", replicas)
	id, err := s.Cluster.CreateSwarmService(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the bridge service %s: %w; service %s keeps serving, unchanged", spec.Name, err, p.name)
	}
	spec.ID = id
	s.enter(swap.PhaseHealth, "waiting until the bridge's tasks run healthy", "timeout", s.healthTimeout(p))
	tasks, err := s.waitReady(ctx, p, id, replicas)
	if err != nil {
		fe := s.failed(ctx, p, spec, err)
		s.removeNow(ctx, spec)
		return nil, nil, fe
	}
	return spec, tasks, nil
}

// waitReady waits until the service runs want healthy tasks of the new
// image; without a HEALTHCHECK (--no-healthcheck) they must then stay up,
// the same tasks, for --settle.
func (s *Swapper) waitReady(ctx context.Context, p *plan, id string, want int) ([]engine.SwarmTask, error) {
	tasks, err := s.waitRunning(ctx, id, p.image, want, s.healthTimeout(p), nil)
	if err != nil || p.healthcheck != nil {
		return tasks, err
	}
	if err := sleep(ctx, s.cfg.Settle); err != nil {
		return nil, err
	}
	now, err := s.waitRunning(ctx, id, p.image, want, s.healthTimeout(p), nil)
	if err != nil {
		return nil, err
	}
	for i := range now {
		if now[i].ID != tasks[i].ID {
			return nil, fmt.Errorf("task of slot %d was replaced within --settle %s: it did not stay up", now[i].Slot, s.cfg.Settle)
		}
	}
	return now, nil
}

// healthTimeout bounds the wait for a service's tasks to run healthy:
// --health-timeout, else long enough for Docker to declare a task
// unhealthy by itself, plus the time Swarm takes to place it.
func (s *Swapper) healthTimeout(p *plan) time.Duration {
	if s.cfg.HealthTimeout > 0 {
		return s.cfg.HealthTimeout
	}
	if h := p.healthcheck; h != nil {
		return h.StartPeriod + time.Duration(h.Retries+1)*(h.Interval+h.Timeout) + 15*time.Second
	}
	return s.cfg.Settle + time.Minute
}

// failed describes a swap that failed before any traffic moved.
func (s *Swapper) failed(ctx context.Context, p *plan, bridge *engine.SwarmService, cause error) *swap.FailedError {
	fe := &swap.FailedError{Service: p.name, Phase: s.phase, Reason: cause, Kept: fmt.Sprintf("%s (service %s) keeps serving, unchanged", p.fromImage, p.name)}
	s.diagnose(ctx, bridge, cause, fe)
	s.enter(swap.PhaseRollback, "removing the bridge service: the old version keeps serving", "reason", cause)
	return fe
}

// diagnose adds to fe the bridge's failed task, when cause is one, and
// the bridge's last log lines.
func (s *Swapper) diagnose(ctx context.Context, bridge *engine.SwarmService, cause error, fe *swap.FailedError) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var f *taskFailure
	if errors.As(cause, &f) {
		fe.Container = fmt.Sprintf("%s.%d.%s", bridge.Name, f.task.Slot, f.task.ID)
		fe.State = f.task.State
		if f.task.Err != "" {
			fe.State += ": " + f.task.Err
		}
	}
	if logs, err := s.Cluster.SwarmServiceLogs(lctx, bridge.ID, 20); err == nil {
		fe.Logs = logs
	}
}

// removeNow removes a bridge that never served.
func (s *Swapper) removeNow(ctx context.Context, bridge *engine.SwarmService) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.Cluster.RemoveSwarmService(rctx, bridge.ID); err != nil && !isNotFound(err) {
		s.log.Warn("could not remove the bridge service; the next dswap of the service removes it", "bridge", bridge.Name, "error", err)
	}
	s.enter(swap.PhaseFailed, "swap failed; rolled back")
}
