package swarm

import (
	"context"
	"fmt"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
)

// A dswap killed during a canary step leaves the weighted route in place
// and the bridge running: Traefik still sends the canary its share. The
// route must go back to the service's tasks alone, confirmed, before the
// bridge's tasks get their stop signal, or the requests Traefik sends
// them while they stop fail (as on one host, swap/canaryrepair.go).

// routeSplit says whether the service's route file is a canary's
// weighted route.
func (s *Swapper) routeSplit(name string) (bool, error) {
	content, ok, err := s.Routes.Read(swap.KeyOf(name))
	if err != nil || !ok {
		return false, err
	}
	rf, err := labels.ReadRouteFile(content)
	if err != nil {
		return false, fmt.Errorf("route file %s: %w", s.Routes.FileFor(swap.KeyOf(name)), err)
	}
	_, split := rf.StableHosts()
	return split, nil
}

// unsplit undoes a canary a killed dswap left: all the traffic back on
// the service's running tasks, confirmed, then the bridge drained and
// removed. Nothing is recorded: the service never left its version.
func (s *Swapper) unsplit(ctx context.Context, svc *engine.SwarmService, bridge *engine.SwarmService) error {
	p, err := s.routingPlan(ctx, svc, svc.Image)
	if err != nil {
		return fmt.Errorf("undoing the interrupted canary of %s: %w", svc.Name, err)
	}
	stable, err := s.serviceTasks(ctx, p)
	if err != nil {
		return fmt.Errorf("undoing the interrupted canary of %s: %w", svc.Name, err)
	}
	s.log.Warn("a dswap stopped during a canary step left the traffic split; all of it goes back to the service's tasks before the bridge is removed", "phase", swap.PhasePlan.String(),
		"service", svc.Name, "tasks", len(stable), "bridge", bridge.Name)
	if err := s.routeStable(ctx, p, stable); err != nil {
		return fmt.Errorf("putting all the traffic of %s back on its tasks after an interrupted canary: %w; the bridge %s is left running meanwhile", svc.Name, err, bridge.Name)
	}
	if err := s.removeBridge(ctx, bridge); err != nil {
		return fmt.Errorf("removing the bridge service an interrupted canary left: %w", err)
	}
	s.log.Info("interrupted canary undone: the service has all the traffic again and the bridge is removed", "phase", swap.PhasePlan.String(), "service", svc.Name)
	return nil
}
