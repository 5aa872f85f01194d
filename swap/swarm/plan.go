package swarm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/reference"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

// plan is what a Swarm swap works from, decided before anything changes.
type plan struct {
	name string
	svc  *engine.SwarmService
	// image is the image rolled out; fromImage the one the service runs.
	image, fromImage string
	// imageID is the image's ID on this manager, "" if it is not here.
	imageID string
	routing *labels.Routing
	// network is the ID of the overlay network shared with Traefik on
	// which the route addresses the tasks.
	network string
	// healthcheck is the tasks' effective HEALTHCHECK, nil without one.
	healthcheck *engine.Healthcheck
	replicas    int
}

// ownLabels are dswap's labels on Swarm services: not settings, and never
// copied to a bridge.
var ownLabels = []string{LockLabel, BridgeOfLabel, BridgeImageLabel}

// serviceSettings decodes the dswap.* settings among the service's labels.
func serviceSettings(svc *engine.SwarmService) (labels.Settings, error) {
	lbl := maps.Clone(svc.Labels)
	for _, k := range ownLabels {
		delete(lbl, k)
	}
	st, err := labels.DecodeSettings(lbl)
	if err != nil {
		return st, swap.AsBadInput(fmt.Errorf("service %s: %w", svc.Name, err))
	}
	return st, nil
}

// refuseUnsupported refuses the settings a Swarm swap does not do (yet),
// when a flag, a variable, the compose file or a service label asks for
// them; the defaults do not count.
func refuseUnsupported(over swap.Overrides, lbl labels.Settings) error {
	set := settings.Merge(over, lbl.Overrides)
	var refused []string
	if set.KeepConnections != nil && *set.KeepConnections > 0 {
		refused = append(refused, "--keep-connections (a manager cannot count the open connections of a task on another node; use --monitor, during which the old tasks stand by, and the service's stop_grace_period)")
	}
	if value(set.Parallelism) > 0 {
		refused = append(refused, refuseBatchSettings(set)...)
		if value(set.Canary) != "" {
			refused = append(refused, "--canary with --parallelism (on a Swarm service the bridge grows to every replica at once after the canary's last step)")
		}
	}
	if set.Order != nil && *set.Order == "stop-first" {
		refused = append(refused, "--order stop-first (a Swarm swap is start-first by construction: the bridge runs healthy before traffic moves)")
	}
	if set.HealthCmd != nil && *set.HealthCmd != "" {
		refused = append(refused, "--health-cmd (set the healthcheck in the service's spec or image, so the service itself runs it)")
	}
	if set.Replicas != nil && *set.Replicas != 0 {
		refused = append(refused, "--scale (scale the service with docker service scale)")
	}
	if len(refused) > 0 {
		return swap.BadInput("a Swarm service is swapped through a bridge service, and these settings do not apply to it yet: %s; nothing was changed. Run again without them", strings.Join(refused, ", "))
	}
	return nil
}

func value[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// makePlan decides what the swap works with: the image's HEALTHCHECK and
// ports, the routing from the service's traefik.* labels, the network
// shared with Traefik.
func (s *Swapper) makePlan(ctx context.Context, svc *engine.SwarmService, image string) (*plan, error) {
	p, err := s.routingPlan(ctx, svc, image)
	if err != nil {
		return nil, err
	}
	if p.replicas == 0 {
		return nil, swap.BadInput("service %s is scaled to 0: there is nothing serving to swap; scale it up first (docker service scale %s=1)", svc.Name, svc.Name)
	}
	if p.healthcheck == nil && !s.cfg.NoHealthcheck {
		return nil, swap.BadInput("neither service %s's spec nor image %s has a HEALTHCHECK, so Swarm reports its tasks running as soon as they start, ready or not; add a healthcheck to the service (or the image), or pass --no-healthcheck to accept tasks that stayed up for --settle", svc.Name, image)
	}
	return p, nil
}

// routingPlan is what routing the service's tasks needs: its routing and
// the network shared with Traefik, from the image's ports.
func (s *Swapper) routingPlan(ctx context.Context, svc *engine.SwarmService, image string) (*plan, error) {
	p := &plan{name: svc.Name, svc: svc, image: image, fromImage: svc.Image, replicas: int(svc.Replicas)}
	if !svc.Replicated() {
		return nil, swap.BadInput("service %s is not a replicated service; dswap swaps replicated Swarm services only", svc.Name)
	}
	var exposed []int
	if img, err := s.inspectImage(ctx, image); err == nil {
		p.imageID, exposed, p.healthcheck = img.ID, img.ExposedPorts, img.Healthcheck
	} else {
		s.log.Warn("the image is not on this manager; its HEALTHCHECK and exposed ports are unknown here (the nodes that run the tasks need it)", "phase", swap.PhasePlan.String(), "image", image, "error", err)
	}
	switch {
	case svc.HealthcheckDisabled:
		p.healthcheck = nil
	case svc.Healthcheck != nil:
		p.healthcheck = svc.Healthcheck
	}
	routing, err := labels.DecodeTraefikFor(svc.Labels, svc.Name, exposed, s.TraefikVersion)
	if err != nil {
		return nil, swap.AsBadInput(fmt.Errorf("service %s's labels: %w", svc.Name, err))
	}
	p.routing = routing
	if p.network, err = s.sharedNetwork(svc); err != nil {
		return nil, err
	}
	return p, nil
}

// inspectImage inspects the image on this manager: by the reference as
// given, else, for one pinned to a digest, by its tag (an image built here
// and pushed may not record the registry's digest).
func (s *Swapper) inspectImage(ctx context.Context, image string) (*engine.Image, error) {
	img, err := s.Images.InspectImage(ctx, image)
	if err == nil {
		return img, nil
	}
	named, perr := reference.ParseNormalizedNamed(image)
	if perr != nil {
		return nil, err
	}
	if tagged, ok := named.(reference.NamedTagged); ok {
		if _, pinned := named.(reference.Canonical); pinned {
			if t, terr := reference.WithTag(reference.TrimNamed(named), tagged.Tag()); terr == nil {
				return s.Images.InspectImage(ctx, reference.FamiliarString(t))
			}
		}
	}
	return nil, err
}

// sharedNetwork is the network of the service that Traefik's container is
// on: there the route addresses each task by its IP.
func (s *Swapper) sharedNetwork(svc *engine.SwarmService) (string, error) {
	var shared []string
	for _, n := range svc.Networks {
		if _, ok := s.TraefikNetworks[n]; ok {
			shared = append(shared, n)
			continue
		}
		for id, name := range s.TraefikNetworks {
			if name == n {
				shared = append(shared, id)
			}
		}
	}
	if len(shared) == 0 {
		names := slices.Sorted(maps.Values(s.TraefikNetworks))
		if len(names) == 0 {
			return "", swap.BadInput("Traefik's container is not known, so dswap cannot tell which of service %s's networks reaches it; name it with --traefik-container", svc.Name)
		}
		return "", swap.BadInput("service %s shares no network with Traefik (its networks: %s; Traefik's: %s); attach Traefik to an attachable overlay network of the service (docker network connect NETWORK TRAEFIK), or the service to one of Traefik's (docker service update --network-add NETWORK %s)",
			svc.Name, strings.Join(svc.Networks, ", "), strings.Join(names, ", "), svc.Name)
	}
	sort.Strings(shared)
	return shared[0], nil
}
