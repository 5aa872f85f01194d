package swap

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Services are found by label on the whole Engine, but an Engine may run
// several Traefiks, each with its routes directory and its dswap, and
// their services may share a name (two stacks of one app). A container on
// none of this Traefik's networks is not one this Traefik can route: it
// belongs to another, and dswap neither copies, routes, stops nor removes
// it (found by the torture run: `dswap sync NAME` stopped the other
// stack's container as "running but not routed"). With Traefik on the
// host, which reaches every container by IP, networks tell nothing and
// every container counts, as before.

// findService is FindService narrowed to the containers this Traefik can
// route (see scope).
func (s *Swapper) findService(all []*engine.Container, name, image string) (*Service, error) {
	svc, err := FindService(all, name, image)
	if err != nil {
		return nil, err
	}
	return svc, s.scope(svc)
}

// scope drops from svc the containers of another Traefik: those on none of
// Traefik's networks, unless dswap created them from one that is (a
// swap's new container is connected to its networks one by one, so a
// dswap killed in between leaves one on part of them). When every one of
// svc's containers is another Traefik's, it is an error: swapping it here
// would take that stack over.
func (s *Swapper) scope(svc *Service) error {
	if len(s.Addressing.TraefikNetworks) == 0 {
		return nil
	}
	members := append(append([]*engine.Container{}, svc.Running...), svc.Stopped...)
	kept := map[string]bool{}
	for _, c := range append(members, svc.Tasks...) {
		if s.Addressing.onTraefikNetwork(c) {
			kept[c.Name] = true
		}
	}
	// A container made from a kept one is kept, however long the chain.
	for grew := true; grew; {
		grew = false
		for _, c := range members {
			if prev := c.Labels[labels.PreviousContainerLabel]; !kept[c.Name] && prev != "" && kept[prev] {
				kept[c.Name], grew = true, true
			}
		}
	}
	if len(kept) == len(members)+len(svc.Tasks) {
		return nil
	}
	if !slices.ContainsFunc(members, func(c *engine.Container) bool { return kept[c.Name] }) {
		var nets []string
		for _, c := range members {
			nets = append(nets, fmt.Sprintf("%s (on %s)", c.Name, strings.Join(slices.Sorted(maps.Keys(c.Networks)), ", ")))
		}
		return badInput("service %s: its containers %s share no network with Traefik (on %s): they belong to another Traefik, or connect them to Traefik's network (docker network connect %s CONTAINER); dswap leaves them alone",
			svc.Ref(), strings.Join(nets, ", "), strings.Join(s.Addressing.TraefikNetworks, ", "), s.Addressing.TraefikNetworks[0])
	}
	var left []string
	keep := func(cs []*engine.Container) []*engine.Container {
		var out []*engine.Container
		for _, c := range cs {
			if kept[c.Name] {
				out = append(out, c)
			} else {
				left = append(left, c.Name)
			}
		}
		return out
	}
	svc.Running, svc.Stopped, svc.Tasks = keep(svc.Running), keep(svc.Stopped), keep(svc.Tasks)
	s.log.Info("containers of the service's name on none of Traefik's networks belong to another Traefik; left alone",
		"phase", PhasePlan.String(), "service", svc.Ref(), "containers", strings.Join(left, ","), "traefik networks", strings.Join(s.Addressing.TraefikNetworks, ","))
	return nil
}

// onTraefikNetwork says whether c is on one of Traefik's networks.
func (a Addressing) onTraefikNetwork(c *engine.Container) bool {
	for n := range c.Networks {
		if slices.Contains(a.TraefikNetworks, n) {
			return true
		}
	}
	return false
}
