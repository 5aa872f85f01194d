package swap

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Addressing says how Traefik reaches a container.
//
// A container's name on a user-defined network shared with Traefik
// resolves through Docker's DNS and survives restarts; an IP does not: a
// container stopped while another starts on the network comes back with
// another address, and the other one may get its old address (seen on
// Engine 20.10), so a route by IP can silently send a service's traffic to
// another container. But Docker's DNS answers a name with every container
// that carries it, as its name or as a network alias, on any of Traefik's
// networks: `docker run --network-alias web` takes part (or, on another of
// Traefik's networks, all) of the traffic meant for the container named
// web. So by default (auto) a container is addressed by name only when no
// other running container on Traefik's networks answers to that name, and
// by its IP otherwise; the choice is made again on every write, and the
// sidecar's keeper makes it again whenever any container starts.
type Addressing struct {
	// TraefikNetworks are the networks of the Traefik container. Empty
	// means Traefik runs on the host, which reaches containers by IP.
	TraefikNetworks []string
	// Mode is "auto" (default), "name" or "ip".
	Mode string
}

// Namesake is another container that Docker's DNS answers for a routed
// container's name, on one of Traefik's networks.
type Namesake struct {
	// Of is the routed container's name.
	Of string
	// Container is the other container's name; Network where it answers;
	// As says how: "name" or "alias".
	Container, Network, As string
}

func (n Namesake) String() string {
	return fmt.Sprintf("container %s answers to %s on network %s (as its %s)", n.Container, n.Of, n.Network, n.As)
}

// Target returns the address Traefik should use for c when no other
// container answers to its name: its name on a user-defined network shared
// with Traefik; its IP on the default bridge network (no DNS), with Traefik
// on the host (no container DNS) or in ip mode. Routes are written with
// Targets, which checks the name first.
func (a Addressing) Target(c *engine.Container) (labels.Target, error) {
	nets := make([]string, 0, len(c.Networks))
	for n := range c.Networks {
		nets = append(nets, n)
	}
	sort.Strings(nets)
	if len(a.TraefikNetworks) == 0 {
		if a.Mode == "name" {
			return labels.Target{Host: c.Name}, nil
		}
		for _, n := range nets {
			if ip := c.Networks[n].IPAddress; ip != "" {
				return labels.Target{Host: ip}, nil
			}
		}
		return labels.Target{}, fmt.Errorf("container %s has no IP address on any network (networks: %s)", c.Name, strings.Join(nets, ", "))
	}
	shared := a.shared(c)
	if len(shared) == 0 {
		return labels.Target{}, fmt.Errorf("container %s shares no network with Traefik (its networks: %s; Traefik's: %s); connect them, e.g. `docker network connect %s %s`",
			c.Name, strings.Join(nets, ", "), strings.Join(a.TraefikNetworks, ", "), a.TraefikNetworks[0], c.Name)
	}
	if a.Mode != "ip" && slices.ContainsFunc(shared, func(n string) bool { return n != "bridge" }) {
		return labels.Target{Host: c.Name}, nil
	}
	return a.ipTarget(c, shared)
}

// shared lists c's networks that Traefik is on, sorted.
func (a Addressing) shared(c *engine.Container) []string {
	var out []string
	for n := range c.Networks {
		if slices.Contains(a.TraefikNetworks, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (a Addressing) ipTarget(c *engine.Container, shared []string) (labels.Target, error) {
	for _, n := range shared {
		if ip := c.Networks[n].IPAddress; ip != "" {
			return labels.Target{Host: ip}, nil
		}
	}
	return labels.Target{}, fmt.Errorf("container %s has no IP address on network %s", c.Name, strings.Join(shared, ", "))
}

// Targets returns the addresses Traefik should use for cs, given every
// running container of the Engine. A name that another running container
// also answers to on one of Traefik's networks is never used: in auto mode
// that container is addressed by its IP instead, and the namesakes are
// returned so the caller can say so; in name mode it is an error, since
// the route would send part of the traffic elsewhere.
func (a Addressing) Targets(cs, running []*engine.Container) ([]labels.Target, []Namesake, error) {
	targets := make([]labels.Target, 0, len(cs))
	var found []Namesake
	for _, c := range cs {
		t, err := a.Target(c)
		if err != nil {
			return nil, nil, err
		}
		if t.Host == c.Name && len(a.TraefikNetworks) > 0 {
			if others := a.namesakes(c, running); len(others) > 0 {
				if a.Mode == "name" {
					return nil, nil, fmt.Errorf("Traefik cannot reach container %s by its name: %s, so Docker's DNS would send part of its traffic there. Remove that alias or rename that container, or let dswap address containers by IP where their names are taken (--address auto, the default)",
						c.Name, describeNamesakes(others))
				}
				found = append(found, others...)
				if t, err = a.ipTarget(c, a.shared(c)); err != nil {
					return nil, nil, err
				}
			}
		}
		targets = append(targets, t)
	}
	return targets, found, nil
}

// namesakes lists the other running containers that Docker's DNS answers
// for c's name on any of Traefik's networks. Every one of them counts, not
// only those on the networks c shares with Traefik: Traefik's resolver may
// ask a network where only the namesake is. DNS names are compared without
// case.
func (a Addressing) namesakes(c *engine.Container, running []*engine.Container) []Namesake {
	var out []Namesake
	for _, o := range running {
		if o.ID == c.ID {
			continue
		}
		for _, n := range a.TraefikNetworks {
			ep, ok := o.Networks[n]
			if !ok {
				continue
			}
			switch {
			case strings.EqualFold(o.Name, c.Name):
				out = append(out, Namesake{Of: c.Name, Container: o.Name, Network: n, As: "name"})
			case slices.ContainsFunc(ep.Aliases, func(alias string) bool { return strings.EqualFold(alias, c.Name) }):
				out = append(out, Namesake{Of: c.Name, Container: o.Name, Network: n, As: "alias"})
			}
		}
	}
	return out
}

func describeNamesakes(ns []Namesake) string {
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		parts = append(parts, n.String())
	}
	return strings.Join(parts, "; ")
}

// needsLook says whether Targets needs the Engine's running containers:
// only names are at risk.
func (a Addressing) needsLook() bool {
	return len(a.TraefikNetworks) > 0 && a.Mode != "ip"
}

// Routes says whether hosts (a route file's servers) name c, by its name
// or by one of its IPs: a route written while c's name was taken names
// its IP.
func (a Addressing) Routes(c *engine.Container, hosts []string) (string, bool) {
	if slices.Contains(hosts, c.Name) {
		return c.Name, true
	}
	for _, n := range slices.Sorted(maps.Keys(c.Networks)) {
		if ip := c.Networks[n].IPAddress; ip != "" && slices.Contains(hosts, ip) {
			return ip, true
		}
	}
	return "", false
}

// targets returns the addresses of cs for a route, looking at the Engine's
// running containers first when a name could be taken, and says which
// names were.
func (s *Swapper) targets(ctx context.Context, cs []*engine.Container) ([]labels.Target, error) {
	var running []*engine.Container
	if s.Addressing.needsLook() {
		var err error
		if running, err = s.Docker.List(ctx, engine.ListFilter{}); err != nil {
			return nil, fmt.Errorf("looking for containers that answer to the same names on Traefik's networks: %w", err)
		}
	}
	targets, namesakes, err := s.Addressing.Targets(cs, running)
	if err != nil {
		return nil, asBadInput(err)
	}
	for _, n := range namesakes {
		s.log.Warn("another container answers to this container's name on Traefik's network; routing to its IP instead, so that no traffic goes there",
			"phase", s.phase.String(), "container", n.Of, "namesake", n.Container, "network", n.Network, "as", n.As)
	}
	return targets, nil
}

// routeHosts lists the hosts the service's route file names; none when
// it has no readable route file.
func (s *Swapper) routeHosts(svc *Service) []string {
	content, ok, err := s.Routes.Read(svc.Key())
	if err != nil || !ok {
		return nil
	}
	rf, err := labels.ReadRouteFile(content)
	if err != nil {
		return nil
	}
	return rf.Hosts()
}
