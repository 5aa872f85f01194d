package bench

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Timing that every run shares.
const (
	// SwapSpacing is the deliberate pause between two swaps. Traefik
	// applies provider changes at most every 2 s
	// (providers.providersThrottleDuration); spacing swaps further apart
	// than that keeps one swap's route change from delaying the next
	// one's flip, so each swap is measured on its own.
	SwapSpacing = 2500 * time.Millisecond
	// HungAfter is the latency from which a request counts as hung.
	HungAfter = 5 * time.Second
	// BucketWidth is the time slice of the timeline pictures.
	BucketWidth = 100 * time.Millisecond
	// Drain is the old container's stop timeout for dswap; docker stop's
	// default for the label baseline is the same 10 s.
	Drain = 10 * time.Second
)

// Options configures a benchmark run.
type Options struct {
	Swaps      int // per scenario and strategy
	Clients    int // closed-loop clients
	Scenarios  []Scenario
	Strategies []Strategy
	// OutDir receives one SVG per scenario and strategy.
	OutDir string
	// Markdown, when set, receives the tables as a Markdown document.
	Markdown string
	// TraefikBin is the static traefik binary for the lab.
	TraefikBin string
	// DswapBin is a prebuilt dswap binary; empty builds ./cmd/dswap.
	DswapBin string
	// Command is the command line, printed in the header.
	Command string
	// Out receives the tables; Log receives progress lines.
	Out, Log io.Writer

	// webURL is the current lab's Traefik entrypoint, set per group.
	webURL string
}

func (o Options) validate() error {
	switch {
	case o.Swaps < 1:
		return fmt.Errorf("-swaps %d: want at least 1", o.Swaps)
	case o.Swaps > 1000:
		return fmt.Errorf("-swaps %d: at most 1000, so that a run stays bounded in time", o.Swaps)
	case o.Clients < 1 || o.Clients > 64:
		return fmt.Errorf("-clients %d: want 1 to 64", o.Clients)
	case len(o.Scenarios) == 0:
		return errors.New("no scenario selected")
	case len(o.Strategies) == 0:
		return errors.New("no strategy selected")
	case o.TraefikBin == "":
		return errors.New("no Traefik binary: run scripts/bench.sh, which builds it, or set DSWAP_TRAEFIK_BIN")
	case o.OutDir == "":
		return errors.New("-out: a directory for the SVG timelines is required")
	}
	return nil
}
