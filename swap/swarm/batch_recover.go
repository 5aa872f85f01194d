package swarm

import (
	"context"
	"fmt"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// unmix undoes a swap in batches that a killed dswap left between two
// batches, the route naming some of the bridge's tasks and some of the
// service's (see recover.go): the route goes back to all the service's
// tasks, which never stopped, confirmed through Traefik; then the bridge,
// which served, is drained and removed. The caller holds the lock.
func (s *Swapper) unmix(ctx context.Context, svc *engine.SwarmService, bridge *engine.SwarmService) error {
	p, err := s.routingPlan(ctx, svc, svc.Image)
	if err != nil {
		return fmt.Errorf("undoing the interrupted swap (its route names the bridge %s and the service's tasks): %w", bridge.Name, err)
	}
	s.enter(swap.PhaseFlip, "an interrupted swap in batches left the route on both versions: moving it back to all the service's tasks", "service", svc.Name, "bridge", bridge.Name)
	n, err := s.routeService(ctx, p)
	if err != nil {
		return fmt.Errorf("undoing the interrupted swap: %w; the route still names the bridge %s and the service's tasks, all running; run dswap sync %s again once Traefik answers", err, bridge.Name, svc.Name)
	}
	if err := s.removeBridge(ctx, bridge); err != nil {
		return fmt.Errorf("removing the bridge service an interrupted swap left (the route is back on service %s's tasks): %w", svc.Name, err)
	}
	s.log.Info("interrupted swap undone: the route is back on the service's tasks and the bridge is removed", "phase", swap.PhasePlan.String(), "service", svc.Name, "tasks", n)
	return nil
}
