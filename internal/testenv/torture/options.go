package torture

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Options configures Run.
type Options struct {
	Swaps int    // swaps in the run (default 200)
	From  int    // index of the first swap, to replay a run from a violation
	Seed  uint64 // the random draw's seed; the same seed draws the same faults and moments
	Kinds []FaultKind
	// Phase, when set, makes every fault strike at this phase (each kind
	// must allow it) instead of one drawn from its row of the table.
	Phase   string
	Clients int // closed-loop clients through Traefik (default 8)
	// Keeper runs `dswap keep` for the whole run; after a daemon restart
	// (restart-docker) the recovery is then nothing: the keeper must put
	// the route right.
	Keeper bool
	// Address is dswap's --address (DSWAP_ADDRESS): "ip" makes routes
	// name containers' IPs, which a daemon restart changes.
	Address string
	// UID, when not 0, runs every dswap command as that user (with the
	// docker group, and the routes directory made its own), as a
	// non-root deployment does: root writes into a read-only directory
	// anyway. The routes-readonly fault needs it.
	UID int
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
	for _, k := range o.Kinds {
		if k == FaultRoutesReadOnly && o.UID == 0 {
			return o, errors.New("torture: the routes-readonly fault needs a non-root dswap: set a UID (-uid 65534), since root writes into a read-only directory anyway")
		}
	}
	if o.Phase != "" {
		for _, k := range o.Kinds {
			if s, _ := spec(k); k != FaultNone && !contains(s.Phases, o.Phase) {
				return o, fmt.Errorf("torture: fault %s cannot strike at phase %s (its phases: %v)", k, o.Phase, s.Phases)
			}
		}
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

// routesTmpfs is the size of the tmpfs the lab mounts as its routes
// directory, when the routes-full fault may be drawn.
func (o Options) routesTmpfs() string {
	for _, k := range o.Kinds {
		if k == FaultRoutesFull {
			return routesTmpfsSize
		}
	}
	return ""
}
