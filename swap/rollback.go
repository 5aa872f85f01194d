package swap

import (
	"context"
	"fmt"

	"github.com/dswap-dev/dswap/engine"
)

// Rollback swaps the service back to the image it ran before its last
// successful swap, through the same zero-downtime path as Up. The previous
// image comes from the service's history; it is deployed by the reference
// it had if that still names the same image, else by its ID.
func (s *Swapper) Rollback(ctx context.Context, service string, over Overrides) (*Result, error) {
	if s.History == nil {
		return nil, badInput("no swap history is available, so there is no previous image to go back to; run dswap up IMAGE instead")
	}
	all, err := s.Docker.List(ctx, engine.ListFilter{})
	if err != nil {
		return nil, err
	}
	svc, err := s.findService(all, service, "")
	if err != nil {
		return nil, err
	}
	if len(svc.Running) == 0 {
		return nil, badInput("service %s has no running container to roll back", service)
	}
	entries, err := s.History.Read(svc.Key())
	if err == nil && len(entries) == 0 && svc.LegacyKey() != svc.Key() {
		// Swaps recorded before keys were one to one.
		entries, err = s.History.Read(svc.LegacyKey())
	}
	if err != nil {
		return nil, err
	}
	current := svc.Running[len(svc.Running)-1].ImageID
	var ref, id string
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		// A swap finished by the command after a crash ("recovered") moved
		// the service as much as one that ended by itself.
		if (e.Result == "swapped" || e.Result == "recovered") && e.ToImageID == current && e.FromImageID != "" {
			ref, id = e.FromImage, e.FromImageID
			break
		}
	}
	if id == "" {
		return nil, badInput("the history of %s has no swap to the image it runs now (%s), so dswap does not know what ran before; run dswap up IMAGE instead", service, shortImageID(current))
	}
	if img, err := s.Images.InspectImage(ctx, ref); ref == "" || err != nil || img.ID != id {
		// The tag has moved on or is gone; the image itself may remain.
		if _, err := s.Images.InspectImage(ctx, id); err != nil {
			return nil, badInput("the previous image %s (%s) is no longer on this Engine; deploy it explicitly with dswap up IMAGE", ref, shortImageID(id))
		}
		ref = id
	}
	s.log.Info("rolling back", "phase", PhasePlan.String(), "service", svc.Name, "to", ref)
	return s.Up(ctx, Request{Image: ref, Service: svc.Ref(), Overrides: over, Force: true,
		// The release tasks belong to the version being left: a rollback
		// runs none, as Heroku's rollback runs no release phase.
		SkipTasks: true})
}

func shortImageID(id string) string {
	const prefix = "sha256:"
	if len(id) > len(prefix)+12 && id[:len(prefix)] == prefix {
		return id[len(prefix) : len(prefix)+12]
	}
	return id
}

// Status is what dswap knows about one managed service.
type Status struct {
	Service    string
	RouteFile  string
	Routed     []string // server URLs in the route file
	Containers []*engine.Container
	Damage     Damage
	// Canary is the service's canary when its route splits the traffic.
	Canary *CanaryStatus
}

// StatusOf reports every dswap-managed service (or the named one).
func (s *Swapper) StatusOf(ctx context.Context, service string) ([]Status, error) {
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, err
	}
	var services []*Service
	if service != "" {
		svc, err := s.findService(all, service, "")
		if err != nil {
			return nil, err
		}
		services = []*Service{svc}
	} else {
		for _, svc := range groupManaged(all) {
			// A service only another Traefik reaches is shown whole.
			_ = s.scope(svc)
			services = append(services, svc)
		}
	}
	var out []Status
	for _, svc := range services {
		st := Status{Service: svc.Ref(), RouteFile: s.Routes.FileFor(svc.Key())}
		st.Containers = append(append(st.Containers, svc.Running...), svc.Stopped...)
		if st.Damage, err = s.Inspect(svc); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		hosts := s.routeHosts(svc)
		for _, c := range st.Damage.Routed {
			if host, ok := s.Addressing.Routes(c, hosts); ok {
				st.Routed = append(st.Routed, host)
			}
		}
		st.Canary = s.canaryOf(svc.Key())
		out = append(out, st)
	}
	var canaries []*CanaryStatus
	for _, st := range out {
		if st.Canary != nil {
			canaries = append(canaries, st.Canary)
		}
	}
	s.liveCanaries(ctx, canaries)
	return out, nil
}
