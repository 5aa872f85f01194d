package swarm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// Traefik reaches a task by its IP on the overlay network it shares with
// Traefik. A task's IP is its own for as long as the task lives (a
// restarted or rescheduled task is a new task with a new address), so the
// route is rewritten whenever the set of running tasks changes (the
// keeper's job between swaps).

// targets are the route's servers for these tasks.
func targets(tasks []engine.SwarmTask, network string) ([]labels.Target, error) {
	out := make([]labels.Target, 0, len(tasks))
	for _, t := range tasks {
		ip := t.Addresses[network]
		if ip == "" {
			return nil, fmt.Errorf("task %s (slot %d) has no address on network %s", shortID(t.ID), t.Slot, network)
		}
		out = append(out, labels.Target{Host: ip})
	}
	return out, nil
}

// route writes the service's route so that it names exactly these tasks,
// and waits until Traefik shows it (as every flip of a container swap).
func (s *Swapper) route(ctx context.Context, p *plan, tasks []engine.SwarmTask) (time.Duration, error) {
	ts, err := targets(tasks, p.network)
	if err != nil {
		return 0, err
	}
	content, err := p.routing.File(p.name, ts)
	if err != nil {
		return 0, err
	}
	exp := traefik.Expectation{Servers: p.routing.ServerURLs(ts), Routers: p.routing.RouterNames()}
	took, err := swap.CommitRoute(ctx, s.routeDeps(), s.cfg.FlipTimeout, s.phase, swap.KeyOf(p.name), content, exp)
	if err != nil {
		return took, err
	}
	var hosts []string
	for _, t := range ts {
		hosts = append(hosts, t.Host)
	}
	s.log.Info("route applied", "phase", s.phase.String(), "file", s.Routes.FileFor(swap.KeyOf(p.name)), "servers", strings.Join(hosts, ","), "took", took.Round(time.Millisecond), "confirmed by", s.Traefik.ConfirmedBy())
	return took, nil
}

// routeDeps are the container swap's dependencies that writing a route
// uses.
func (s *Swapper) routeDeps() swap.Deps {
	return swap.Deps{Routes: s.Routes, Traefik: s.Traefik, Log: s.log}
}

// routedHosts are the hosts the service's route file names now.
func (s *Swapper) routedHosts(name string) ([]string, bool, error) {
	content, ok, err := s.Routes.Read(swap.KeyOf(name))
	if err != nil || !ok {
		return nil, ok, err
	}
	rf, err := labels.ReadRouteFile(content)
	if err != nil {
		return nil, true, fmt.Errorf("route file %s: %w", s.Routes.FileFor(swap.KeyOf(name)), err)
	}
	return rf.Hosts(), true, nil
}
