// Package swarmbench measures swaps of a Docker Swarm service behind
// Traefik: Swarm's own rolling update behind Traefik's swarm provider (what
// most Swarm users run) against dswap, on the same Swarm of three Engines
// of the benchmark's own (lab.StartSwarm), under the same closed-loop load
// from 127.0.0.1 as the single-host benchmark (package bench).
// cmd/dswap-bench -swarm is its command line.
package swarmbench

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Timing every run shares.
const (
	// PreSwap is how long the load runs before a swap starts.
	PreSwap = time.Second
	// Settle is how long the load goes on after the swap's command
	// returned: longer than a request stuck on a task that is gone (the
	// clients give up after 30 s) plus Traefik's swarm provider's poll
	// (refreshSeconds, 15 s by default), so that a baseline swap's stale
	// routes and the time until all traffic is on the new version are in
	// the numbers. Both strategies get the same window.
	Settle = 45 * time.Second
	// HungAfter is the latency from which a request counts as hung, as in
	// package bench.
	HungAfter = 5 * time.Second
	// Delay is how long the service takes per request (the single-host
	// benchmark's 50ms scenario).
	Delay = 50 * time.Millisecond
)

// Strategy is a way of swapping a Swarm service.
type Strategy struct {
	Name  string // the -strategy value
	Title string
	// Dswap is set for dswap; the baseline is Swarm's rolling update.
	Dswap bool
}

// Strategies are all strategies, in the order they run.
var Strategies = []Strategy{
	{Name: "service-update", Title: "docker service update --update-order start-first --image NEW; Traefik's swarm provider (Docker socket of the manager, refreshSeconds 15s) routes the tasks"},
	{Name: "dswap", Dswap: true, Title: "dswap up NEW --service NAME: bridge service, route flipped by file and confirmed through Traefik's API, service updated unrouted, route flipped back"},
}

// SelectStrategies parses -strategy: comma-separated names, or all.
func SelectStrategies(list string) ([]Strategy, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return Strategies, nil
	}
	var out []Strategy
	var known []string
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		want[strings.TrimSpace(n)] = true
	}
	for _, s := range Strategies {
		known = append(known, s.Name)
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("-strategy: unknown %q for -swarm: want %s, comma-separated, or all", n, strings.Join(known, ", "))
	}
	return out, nil
}

// Options configures Run.
type Options struct {
	Swaps      int // per strategy
	Clients    int
	Nodes      int // Engines in the Swarm
	Replicas   int // the service's replicas
	Strategies []Strategy
	TraefikBin string
	// DswapBin is the dswap binary for the dswap strategy; empty builds
	// ./cmd/dswap.
	DswapBin string
	// Markdown, when set, receives the tables.
	Markdown string
	// Command is the command line, printed in the header.
	Command  string
	Out, Log io.Writer
}

func (o Options) validate() error {
	switch {
	case o.Swaps < 1 || o.Swaps > 200:
		return fmt.Errorf("-swaps %d: want 1 to 200 (a Swarm swap takes tens of seconds)", o.Swaps)
	case o.Clients < 1 || o.Clients > 64:
		return fmt.Errorf("-clients %d: want 1 to 64", o.Clients)
	case o.Nodes < 1 || o.Nodes > 5:
		return fmt.Errorf("%d nodes: want 1 to 5", o.Nodes)
	case o.Replicas < 1:
		return fmt.Errorf("%d replicas: want at least 1", o.Replicas)
	case len(o.Strategies) == 0:
		return errors.New("no strategy selected")
	case o.TraefikBin == "":
		return errors.New("no Traefik binary: run scripts/bench.sh, which builds it, or set DSWAP_TRAEFIK_BIN")
	}
	return nil
}
