package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// drainSettle is what the old tasks get, once unrouted, before Swarm
// stops them: requests Traefik sent them before the flip finish on
// connections already open. Swarm then gives each its own stop grace
// period after SIGTERM (and first waits for its service binding to leave
// the cluster's gossip), as the user's spec says; dswap does not change
// that spec.
const drainSettle = time.Second

// updateService updates the user's service to the new image, and nothing
// else, and waits until all its tasks run healthy with it. Its old tasks
// are unrouted by now: the bridge serves.
func (s *Swapper) updateService(ctx context.Context, p *plan) ([]engine.SwarmTask, error) {
	if err := sleep(ctx, min(s.cfg.Drain, drainSettle)); err != nil {
		return nil, err
	}
	svc, err := s.Cluster.SwarmService(ctx, p.name)
	if err != nil {
		return nil, err
	}
	s.enter(swap.PhaseDrain, "updating the service to the new image; its old tasks are unrouted and stop with the service's own stop grace period", "service", p.name, "image", p.image)
	issued := s.Now()
	if svc.Image != p.image {
		if err := s.Cluster.UpdateSwarmService(ctx, svc.WithImage(p.image, nil)); err != nil {
			return nil, fmt.Errorf("updating service %s to %s: %w", p.name, p.image, err)
		}
	}
	check := func(ctx context.Context) error {
		now, err := s.Cluster.SwarmService(ctx, p.name)
		if err != nil {
			return err
		}
		if now.UpdateStarted.Before(issued.Add(-time.Second)) {
			// The report of an earlier update, not of this one.
			return nil
		}
		switch now.UpdateState {
		case "paused", "rollback_started", "rollback_paused", "rollback_completed":
			return fmt.Errorf("Swarm's update of service %s ended %s: %s", p.name, now.UpdateState, now.UpdateMessage)
		}
		return nil
	}
	return s.waitRunning(ctx, svc.ID, p.image, p.replicas, s.updateTimeout(p, svc), check)
}

// updateTimeout bounds Swarm's rolling update of the service: each batch
// stops its old tasks (gossip delay, stop grace period), starts the new
// ones healthy and watches them for the update's monitor period.
func (s *Swapper) updateTimeout(p *plan, svc *engine.SwarmService) time.Duration {
	grace := 10 * time.Second
	if svc.StopGracePeriod != nil {
		grace = *svc.StopGracePeriod
	}
	per := s.healthTimeout(p) + grace + 2*time.Second + 5*time.Second
	return time.Duration(p.replicas) * per
}
