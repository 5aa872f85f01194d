package swap

import (
	"context"
	"fmt"
	"strings"

	"github.com/dswap-dev/dswap/labels"
)

// A dswap killed during a canary step leaves the weighted route in place,
// without the paused line: Inspect counts the canary's containers as not
// routed (StableHosts), so the next command or the keeper undoes the swap.
// Traefik still sends the canary its share, though, until the file says
// otherwise: the route must go back to the old containers alone, confirmed,
// before the canary's containers get their stop signal, or the requests
// Traefik sends them while they stop fail.

// unsplit puts all the traffic of a service whose route a killed canary
// left split back on its routed (old) containers, with the canary's
// children gone from Traefik. It does nothing for any other route.
func (s *Swapper) unsplit(ctx context.Context, svc *Service, d Damage) error {
	if len(d.Routed) == 0 || len(d.Unrouted) == 0 {
		return nil
	}
	content, ok, err := s.Routes.Read(svc.Key())
	if err != nil || !ok {
		return err
	}
	if _, paused := labels.ReadPaused(content); paused {
		return nil
	}
	rf, err := labels.ReadRouteFile(content)
	if err != nil {
		return fmt.Errorf("route file %s: %w", s.Routes.FileFor(svc.Key()), err)
	}
	if _, canary := rf.StableHosts(); !canary {
		return nil
	}
	source := d.Routed[len(d.Routed)-1]
	routing, err := s.decodeRouting(source.Labels, svc.Name, source.ExposedPorts)
	if err != nil {
		return asBadInput(fmt.Errorf("service %s (container %s): %w", svc.Name, source.Name, err))
	}
	var absent []string
	for _, name := range routing.ServiceNames() {
		absent = append(absent, labels.StableChild(name), labels.CanaryChild(name))
	}
	s.log.Warn("a dswap stopped during a canary step left the traffic split; all of it goes back to the old version before the canary is removed", "phase", PhasePlan.String(),
		"service", svc.Name, "old", strings.Join(containerNames(d.Routed), ","), "canary", strings.Join(containerNames(d.Unrouted), ","))
	if _, err := s.route(ctx, svc, routing, d.Routed, absent); err != nil {
		return fmt.Errorf("putting all the traffic of %s back on %s after an interrupted canary: %w", svc.Name, strings.Join(containerNames(d.Routed), ", "), err)
	}
	return nil
}
