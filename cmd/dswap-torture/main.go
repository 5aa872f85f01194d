// Command dswap-torture swaps one service many times under constant load
// from 127.0.0.1 through Traefik, each swap with a fault drawn by a seeded
// random generator (dswap killed or interrupted, the new or old container
// killed, Traefik restarted or paused, a concurrent dswap up, or none) at a
// random moment; after each it recovers as a user would (dswap sync) and
// checks invariants against Docker and Traefik's API. A violation stops
// the run (exit 1) naming the seed, the swap and the evidence file; the
// same -seed, with -from, replays it.
//
//	scripts/torture.sh                 200 swaps, a random seed
//	scripts/torture.sh 20 1            20 swaps, seed 1 (the CI run)
//	go run ./cmd/dswap-torture -swaps 200 -seed 7 -from 41 -faults kill-dswap,restart-traefik
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/torture"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dswap-torture:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dswap-torture", flag.ContinueOnError)
	swaps := fs.Int("swaps", 200, "swaps in the run")
	from := fs.Int("from", 0, "index of the first swap (to replay from a violation)")
	seed := fs.Uint64("seed", 0, "seed of the fault draw (0: a random one, printed)")
	faults := fs.String("faults", "all", "comma-separated fault kinds, or all")
	phase := fs.String("phase", "", "strike every fault at this dswap phase (start, create, health, flip, drain, remove) instead of a drawn one")
	uid := fs.Int("uid", 0, "run dswap as this user (with the docker group), as a non-root deployment; routes-readonly needs it")
	keeper := fs.Bool("keeper", false, "run dswap keep for the whole run: after restart-docker it, not dswap sync, must put the route right")
	address := fs.String("address", "", "dswap's --address for the run (ip: routes name IPs, which a daemon restart changes)")
	clients := fs.Int("clients", 8, "closed-loop clients through Traefik")
	md := fs.String("md", "", "write the figures as a Markdown table to this file")
	evidence := fs.String("evidence", ".", "directory for a violation's evidence file")
	dswapBin := fs.String("dswap", "", "dswap binary under test (default: go build ./cmd/dswap)")
	keepGoing := fs.Bool("keep-going", false, "go on after a violation (evidence written) instead of stopping the run")
	fake := fs.Int("fake-violation", 0, "plant a leftover container after this swap (1-based) to see the checks catch it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	kinds, err := torture.ParseKinds(*faults)
	if err != nil {
		return err
	}
	if *faults == "all" {
		// restart-docker moves the whole run onto an Engine of its own:
		// only when named. Root writes into a read-only directory anyway.
		kinds = slices.DeleteFunc(kinds, func(k torture.FaultKind) bool {
			return k == torture.FaultRestartDocker || k == torture.FaultRoutesReadOnly && *uid == 0
		})
		*faults = "all but restart-docker (name it: it runs on an Engine of its own)"
		if *uid == 0 {
			*faults += " and routes-readonly (it needs -uid)"
		}
	}
	if *seed == 0 {
		*seed = rand.Uint64N(1 << 31)
	}
	if *dswapBin == "" {
		dir, err := os.MkdirTemp("", "dswap-torture-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dswapBin = filepath.Join(dir, "dswap")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", *dswapBin, "./cmd/dswap").CombinedOutput(); err != nil {
			return fmt.Errorf("building dswap: %w\n%s", err, out)
		}
	}
	fmt.Printf("dswap-torture: seed %d, swaps %d to %d, faults %s\n", *seed, *from, *swaps-1, *faults)
	records, runErr := torture.Run(ctx, torture.Options{
		Swaps: *swaps, From: *from, Seed: *seed, Kinds: kinds, Phase: *phase, UID: *uid, Keeper: *keeper, Address: *address, Clients: *clients,
		DswapBin: *dswapBin, TraefikBin: lab.TraefikBinFromEnv(), EvidenceDir: *evidence,
		FakeViolation: *fake, KeepGoing: *keepGoing, Out: os.Stdout, Log: os.Stderr,
	})
	fmt.Printf("\nseed %d, %d swaps:\n\n", *seed, len(records))
	if err := torture.WriteMarkdown(os.Stdout, records); err != nil {
		return err
	}
	if *md != "" && len(records) > 0 {
		f, err := os.Create(*md)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "Seed %d, swaps %d to %d (%d run), faults %s.\n\n", *seed, *from, *swaps-1, len(records), *faults)
		werr := torture.WriteMarkdown(f, records)
		if err := errors.Join(werr, f.Close()); err != nil {
			return err
		}
	}
	return runErr
}
