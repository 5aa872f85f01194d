package torture

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Options configures Run.
type Options struct {
	Swaps   int    // swaps in the run (default 200)
	From    int    // index of the first swap, to replay a run from a violation
	Seed    uint64 // the random draw's seed; the same seed draws the same faults and moments
	Kinds   []FaultKind
	Clients int // closed-loop clients through Traefik (default 8)
	// FlipTimeout is dswap's --flip-timeout; a paused Traefik stays paused
	// longer than it (default 3s).
	FlipTimeout time.Duration
	// Drain is dswap's drain window (default 5s); the old container
	// lingers 2 s on SIGTERM so that a drain lasts long enough to strike in.
	Drain      time.Duration
	DswapBin   string // the dswap binary under test (required)
	TraefikBin string // a static traefik binary (required)
	Prefix     string // lab prefix (default dswap-torture-<random>)
	// EvidenceDir receives a file of evidence for a violation (default
	// the working directory).
	EvidenceDir string
	// Markdown, when set, is where the figures are written as Markdown.
	Markdown string
	// FakeViolation makes the checks after swap index FakeViolation-1
	// (1-based, 0: never) see a container left behind: it starts one
	// itself. It proves the checks catch what they claim to.
	FakeViolation int
	// KeepGoing goes on after a violation (its evidence written) instead
	// of stopping the run, so that a long run counts every kind's figures;
	// Run then returns every violation's error joined.
	KeepGoing bool
	Out, Log  io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.Swaps == 0 {
		o.Swaps = 200
	}
	if o.Clients == 0 {
		o.Clients = 8
	}
	if o.FlipTimeout == 0 {
		o.FlipTimeout = 3 * time.Second
	}
	if o.Drain == 0 {
		o.Drain = 5 * time.Second
	}
	if o.EvidenceDir == "" {
		o.EvidenceDir = "."
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Kinds) == 0 {
		kinds, _ := ParseKinds("all")
		o.Kinds = kinds
	}
	switch {
	case o.Swaps < 0 || o.From < 0 || o.From >= o.Swaps:
		return o, fmt.Errorf("torture: want 0 <= from (%d) < swaps (%d)", o.From, o.Swaps)
	case o.DswapBin == "":
		return o, errors.New("torture: no dswap binary given")
	case o.TraefikBin == "":
		return o, errors.New("torture: no traefik binary given; run scripts/tools.sh and set DSWAP_TRAEFIK_BIN")
	case o.Clients < 1 || o.Clients > 64:
		return o, fmt.Errorf("torture: clients=%d: want 1 to 64", o.Clients)
	}
	return o, nil
}
