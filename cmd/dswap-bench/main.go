// Command dswap-bench measures swaps on this machine: dswap itself and a
// model of the label-based rollout tools, each in several scenarios, under
// constant closed-loop load from 127.0.0.1 through Traefik on the local
// Docker Engine. It prints a table per strategy and scenario and a summary,
// and writes one SVG timeline of a median swap per table.
//
//	scripts/bench.sh                                   (everything, 20 swaps each)
//	scripts/bench.sh -scenario 50ms -strategy dswap -swaps 100
//	scripts/bench.sh -releases -swaps 3                 (bad and good releases)
//	scripts/bench.sh swarm -swaps 3                    (Swarm: service update vs dswap; needs root)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dswap-dev/dswap/internal/testenv/bench"
	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/swarmbench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bench.SpawnArg {
		os.Exit(bench.SpawnMain(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dswap-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dswap-bench", flag.ContinueOnError)
	swaps := fs.Int("swaps", 20, "swaps per scenario and strategy")
	clients := fs.Int("clients", 8, "concurrent closed-loop clients")
	scenarios := fs.String("scenario", "all", "comma-separated scenarios: 50ms, 3s, hc1s, hc30s, ws, or all")
	strategies := fs.String("strategy", "all", "comma-separated strategies: dswap, dswap+keep, labels, labels+3s, or all")
	out := fs.String("out", "bench-out", "directory for the SVG timelines")
	md := fs.String("md", "", "also write the tables as Markdown to this file")
	dswapBin := fs.String("dswap", "", "prebuilt dswap binary to measure (default: go build ./cmd/dswap)")
	releases := fs.Bool("releases", false, "instead, measure a release that fails 20% of its requests (plain swap, --monitor, --canary) and a canary's cost for a good one; -swaps runs of each")
	swarm := fs.Bool("swarm", false, "measure a Swarm service instead (3 Engines of the benchmark's own, 3 replicas): strategies service-update and dswap, default 5 swaps; needs root")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *releases {
		return bench.RunReleases(ctx, bench.Options{
			Swaps: *swaps, Clients: *clients, Markdown: *md, TraefikBin: lab.TraefikBinFromEnv(), DswapBin: *dswapBin,
			Command: "dswap-bench " + strings.Join(args, " "), Out: os.Stdout, Log: os.Stderr,
		})
	}
	if *swarm {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["swaps"] {
			*swaps = 5
		}
		sts, err := swarmbench.SelectStrategies(*strategies)
		if err != nil {
			return err
		}
		return swarmbench.Run(ctx, swarmbench.Options{
			Swaps: *swaps, Clients: *clients, Nodes: 3, Replicas: 3,
			Strategies: sts,
			TraefikBin: lab.TraefikBinFromEnv(),
			DswapBin:   *dswapBin,
			Markdown:   *md,
			Command:    "dswap-bench " + strings.Join(args, " "),
			Out:        os.Stdout,
			Log:        os.Stderr,
		})
	}
	scs, err := bench.SelectScenarios(*scenarios)
	if err != nil {
		return err
	}
	sts, err := bench.SelectStrategies(*strategies)
	if err != nil {
		return err
	}
	return bench.Run(ctx, bench.Options{
		Swaps:      *swaps,
		Clients:    *clients,
		Scenarios:  scs,
		Strategies: sts,
		OutDir:     *out,
		Markdown:   *md,
		TraefikBin: lab.TraefikBinFromEnv(),
		DswapBin:   *dswapBin,
		Command:    "dswap-bench " + strings.Join(args, " "),
		Out:        os.Stdout,
		Log:        os.Stderr,
	})
}
