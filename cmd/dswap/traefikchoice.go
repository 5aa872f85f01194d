package main

import (
	"fmt"
	"strings"

	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// traefikChoice is what dswap decided about Traefik, for the line that
// says it: which Traefik (its container, or none), how containers are
// addressed, and why each.
type traefikChoice struct {
	// Container is Traefik's container, "" when dswap uses none.
	Container string
	// Traefik says why that Traefik; Addressing how containers are reached
	// and why.
	Traefik, Addressing string
}

// chooseTraefik explains setup's decisions. named says Traefik's container
// was given (--traefik-container); routesDir and apiAddr are what was given
// for them (before discovery filled anything in).
func chooseTraefik(inst *traefik.Instance, named bool, routesDir, apiAddr string, a swap.Addressing) traefikChoice {
	var c traefikChoice
	switch {
	case inst != nil && named:
		c.Container = inst.Container.Name
		c.Traefik = "the container named by --traefik-container"
	case inst != nil && routesDir == "" && apiAddr == "":
		c.Container = inst.Container.Name
		c.Traefik = "the only running container that looks like Traefik"
	case inst != nil:
		c.Container = inst.Container.Name
		c.Traefik = "the Traefik container whose mount or API matches what was given"
	case routesDir != "" && apiAddr != "":
		c.Traefik = "the one behind --traefik-api, with --routes-dir: both were given, so dswap looked for no Traefik container and takes Traefik to run on the host"
	default:
		c.Traefik = "no Traefik container found: Traefik is taken to run on the host"
	}
	switch {
	case a.Mode == "ip":
		c.Addressing = "by IP, as --address ip says; routes must be kept after restarts (dswap keep or dswap serve)"
	case len(a.TraefikNetworks) > 0 && a.Mode == "name":
		c.Addressing = fmt.Sprintf("by container name on Traefik's networks (%s), as --address name says", strings.Join(a.TraefikNetworks, ", "))
	case len(a.TraefikNetworks) > 0:
		c.Addressing = fmt.Sprintf("by container name on Traefik's networks (%s), which survives restarts; by IP where another container answers to the name or on the default bridge", strings.Join(a.TraefikNetworks, ", "))
	case a.Mode == "name":
		c.Addressing = "by container name, as --address name says, though Traefik's container is unknown: Traefik must resolve them"
	default:
		c.Addressing = "by IP, since Traefik is not a container dswap knows and a host process cannot resolve container names; routes must be kept after restarts (dswap keep or dswap serve). If Traefik runs in a container, pass --traefik-container NAME"
	}
	return c
}
