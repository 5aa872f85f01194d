package swap

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Synced is one service whose route was written.
type Synced struct {
	Service    string
	Containers []string
	File       string
	Took       time.Duration
}

// Managed says whether dswap keeps a container's routes: it carries
// dswap.enable=true or a dswap.service label.
// A release task's one-off is not, even when its image carries such a
// label: it is never routed. Nor is a Swarm task's container: its service
// is routed by swap/swarm, from its tasks.
func Managed(c *engine.Container) bool {
	if c.Labels[TaskServiceLabel] != "" || c.Labels[SwarmTaskLabel] != "" {
		return false
	}
	return c.Labels[labels.ServiceLabel] != "" || c.Labels["dswap.enable"] == "true"
}

// Sync writes the route of each dswap-managed service (or of the named one)
// so that it points at exactly its running containers, and confirms each
// with Traefik. It is how a service started by `docker compose up` is first
// adopted, and how routes are put right after containers changed outside
// dswap.
func (s *Swapper) Sync(ctx context.Context, service string, over Overrides) ([]Synced, error) {
	s.started = time.Now()
	s.overrides = over
	var err error
	if s.cfg, err = Layer(over, labels.Settings{}); err != nil {
		return nil, err
	}
	running, err := s.Docker.List(ctx, engine.ListFilter{})
	if err != nil {
		return nil, err
	}
	var services []*Service
	if service != "" {
		svc, err := s.findService(running, service, "")
		if err != nil {
			return nil, err
		}
		if len(svc.Running) == 0 {
			return nil, badInput("service %s has no running container to route", service)
		}
		services = append(services, svc)
	} else {
		var elsewhere []string
		for _, svc := range groupManaged(running) {
			switch {
			case len(svc.Running) == 0:
			case !s.Addressing.reachesAny(svc):
				// Another Traefik's, as the keeper sees it (see scope.go).
				elsewhere = append(elsewhere, svc.Ref())
			default:
				services = append(services, svc)
			}
		}
		if len(elsewhere) > 0 {
			s.log.Warn("services on none of Traefik's networks left alone: another Traefik routes them, or connect them to Traefik's network and sync them by name",
				"phase", PhasePlan.String(), "services", strings.Join(elsewhere, ","), "traefik networks", strings.Join(s.Addressing.TraefikNetworks, ","))
		}
		if len(services) == 0 {
			return nil, badInput("no running container is managed by dswap and reachable by Traefik; label the service with dswap.enable=true (or dswap.service=NAME) and put it on Traefik's network, or name the service: dswap sync SERVICE")
		}
	}
	var out []Synced
	for _, found := range services {
		synced, err := s.syncOne(ctx, found)
		if err != nil {
			return out, err
		}
		out = append(out, synced)
	}
	return out, nil
}

// syncOne routes one service under its lock, after putting right what an
// interrupted swap left.
func (s *Swapper) syncOne(ctx context.Context, found *Service) (Synced, error) {
	svc, _, release, err := s.lockService(ctx, found.Ref(), "")
	if err != nil {
		return Synced{}, err
	}
	defer release()
	if len(svc.Running) == 0 {
		return Synced{}, badInput("service %s has no running container to route", svc.Name)
	}
	s.enter(PhaseFlip, "routing", "service", svc.Name, "containers", len(svc.Running))
	// The routing comes from the container admit chose, never simply the
	// newest: a newer container may claim the service with other labels.
	source := svc.RoutingSource
	routing, err := s.decodeRouting(source.Labels, svc.Name, source.ExposedPorts)
	if err != nil {
		return Synced{}, asBadInput(fmt.Errorf("service %s (container %s): %w", svc.Name, source.Name, err))
	}
	if err := s.checkConflicts(ctx, routing); err != nil {
		return Synced{}, err
	}
	if err := s.checkNames(svc, routing); err != nil {
		return Synced{}, err
	}
	change, err := s.route(ctx, svc, routing, svc.Running, nil)
	if err != nil {
		return Synced{}, fmt.Errorf("routing service %s: %w", svc.Name, err)
	}
	return Synced{Service: svc.Name, File: s.Routes.FileFor(svc.Key()), Took: change.took, Containers: containerNames(svc.Running)}, nil
}

// groupManaged groups the managed containers among cs by service.
func groupManaged(cs []*engine.Container) []*Service {
	byKey := map[string]*Service{}
	for _, c := range cs {
		if !Managed(c) {
			continue
		}
		svc, err := FindService([]*engine.Container{c}, ServiceName(c), "")
		if err != nil {
			continue
		}
		if g, ok := byKey[svc.Key()]; ok {
			g.Running = append(g.Running, svc.Running...)
			g.Stopped = append(g.Stopped, svc.Stopped...)
			continue
		}
		byKey[svc.Key()] = svc
	}
	out := make([]*Service, 0, len(byKey))
	for _, svc := range byKey {
		out = append(out, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}
