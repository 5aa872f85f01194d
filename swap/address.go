package swap

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Addressing says how Traefik reaches a container.
type Addressing struct {
	// TraefikNetworks are the networks of the Traefik container. Empty
	// means Traefik runs on the host, which reaches containers by IP.
	TraefikNetworks []string
	// Mode is "auto" (default), "name" or "ip".
	Mode string
}

// Target returns the address Traefik should use for c. A container name on
// a user-defined network shared with Traefik resolves through Docker's DNS
// and survives restarts, so it is preferred; the default bridge network
// has no DNS, and Traefik on the host has no container DNS, so those use
// the container's IP.
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
	var shared []string
	for _, n := range nets {
		if slices.Contains(a.TraefikNetworks, n) {
			shared = append(shared, n)
		}
	}
	if len(shared) == 0 {
		return labels.Target{}, fmt.Errorf("container %s shares no network with Traefik (its networks: %s; Traefik's: %s); connect them, e.g. `docker network connect %s %s`",
			c.Name, strings.Join(nets, ", "), strings.Join(a.TraefikNetworks, ", "), a.TraefikNetworks[0], c.Name)
	}
	for _, n := range shared {
		if n != "bridge" && a.Mode != "ip" {
			return labels.Target{Host: c.Name}, nil
		}
	}
	ip := c.Networks[shared[0]].IPAddress
	if ip == "" {
		return labels.Target{}, fmt.Errorf("container %s has no IP address on network %s", c.Name, shared[0])
	}
	return labels.Target{Host: ip}, nil
}
