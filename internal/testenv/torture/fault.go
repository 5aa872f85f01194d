// Package torture runs many swaps of one service under constant load, each
// with a fault drawn from a table by a seeded random generator and injected
// at a random moment of the swap; after each it does what a user would do
// to recover (the next dswap command) and checks invariants against Docker
// and Traefik's API, not against dswap's own account. A violation stops the
// run with the seed, the swap's index, the fault, its moment and the
// evidence; the same seed (and -from the index) replays it.
package torture

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// FaultKind names one kind of fault.
type FaultKind string

// The fault table.
const (
	FaultNone           FaultKind = "none"            // control: a plain swap
	FaultKillDswap      FaultKind = "kill-dswap"      // SIGKILL of dswap
	FaultInterruptDswap FaultKind = "sigint-dswap"    // SIGINT of dswap (Ctrl-C)
	FaultKillNew        FaultKind = "kill-new"        // SIGKILL of the new container while it starts
	FaultKillOld        FaultKind = "kill-old"        // SIGKILL of the old container while it drains
	FaultRestartTraefik FaultKind = "restart-traefik" // docker restart of Traefik
	FaultPauseTraefik   FaultKind = "pause-traefik"   // docker pause of Traefik past the flip timeout, then unpause
	FaultConcurrentUp   FaultKind = "concurrent-up"   // a second dswap up of the service with another image
	FaultRoutesReadOnly FaultKind = "routes-readonly" // the routes directory made read-only under a non-root dswap
	FaultRoutesFull     FaultKind = "routes-full"     // the routes directory's filesystem (a small tmpfs) filled up
	// FaultSeveralServices swaps other services at once with the one under
	// load, so that their flips fall within one reload throttle window.
	FaultSeveralServices FaultKind = "several-services"
	// FaultKillSidecar SIGKILLs the sidecar (dswap serve) while it runs a
	// swap requested over its API; a supervisor restarts it.
	FaultKillSidecar FaultKind = "kill-sidecar"
	// FaultRestartDocker restarts the Docker daemon (an Engine of the
	// run's own) with Traefik and the service on it.
	FaultRestartDocker FaultKind = "restart-docker"
)

// faultSpec is a row of the table: where in a swap the fault may strike
// and whether requests failing while it lasts are unavoidable.
type faultSpec struct {
	Kind FaultKind
	// Phases are the dswap phases (as in its JSON events) at whose first
	// event the fault may strike; "start" is the moment dswap starts.
	Phases []string
	// MaxDelay bounds the random delay after that moment.
	MaxDelay time.Duration
	// Unavoidable says that requests failing in the fault's window are the
	// fault's doing, not dswap's: Traefik is down or paused, or the
	// container serving them was killed.
	Unavoidable bool
	// Grace extends the unavoidable window past the end of the fault's
	// effect: a restarted Traefik answers its ping before it routes again.
	// A paused Traefik has its routes in memory when it resumes, so a
	// request failing after the unpause is dswap's doing.
	Grace time.Duration
	// Says is what the error of a swap the fault struck must say: the
	// swap fails, and tells what to do. With SaysBeforeFlip, only when the
	// fault struck before the flip (a routes directory broken later does
	// not fail a swap that no longer writes its route).
	Says           string
	SaysBeforeFlip bool
}

// Table is every fault the harness knows, in a fixed order so that a seed
// draws the same faults on every run.
var Table = []faultSpec{
	{Kind: FaultNone, Phases: []string{"start"}},
	{Kind: FaultKillDswap, Phases: []string{"start", "create", "health", "flip", "drain", "remove"}, MaxDelay: 1500 * time.Millisecond},
	{Kind: FaultInterruptDswap, Phases: []string{"start", "create", "health", "flip", "drain", "remove"}, MaxDelay: 1500 * time.Millisecond},
	{Kind: FaultKillNew, Phases: []string{"create", "health"}, MaxDelay: 800 * time.Millisecond},
	{Kind: FaultKillOld, Phases: []string{"drain"}, MaxDelay: time.Second, Unavoidable: true},
	{Kind: FaultRestartTraefik, Phases: []string{"start", "health", "flip", "drain"}, MaxDelay: time.Second, Unavoidable: true, Grace: 2 * time.Second},
	{Kind: FaultPauseTraefik, Phases: []string{"health", "flip"}, MaxDelay: 300 * time.Millisecond, Unavoidable: true},
	{Kind: FaultConcurrentUp, Phases: []string{"start", "create", "health", "flip", "drain"}, MaxDelay: time.Second},
	// Before the flip's write, which must fail: read-only from the strike
	// until dswap exits, full likewise; then put right for the recovery.
	{Kind: FaultRoutesReadOnly, Phases: []string{"start", "create", "health"}, MaxDelay: 800 * time.Millisecond,
		Says: "is not writable by the user dswap runs as", SaysBeforeFlip: true},
	{Kind: FaultRoutesFull, Phases: []string{"start", "create", "health"}, MaxDelay: 800 * time.Millisecond,
		Says: "free space on it", SaysBeforeFlip: true},
	// The others' swaps start 0 to 0.5 s after this one's create, so all
	// flip about 1 s (the new containers' start) later, within one window.
	{Kind: FaultSeveralServices, Phases: []string{"create"}, MaxDelay: 500 * time.Millisecond},
	{Kind: FaultKillSidecar, Phases: []string{"create", "health", "flip", "drain"}, MaxDelay: time.Second,
		Says: "the sidecar stopped or restarted in the middle of the swap"},
	// Every container stops with the daemon: requests fail until Traefik
	// and the service run again (the strike to then is the window), and
	// a little after, while Traefik loads its routes.
	{Kind: FaultRestartDocker, Phases: []string{"start", "health", "flip", "drain"}, MaxDelay: time.Second, Unavoidable: true, Grace: 2 * time.Second},
}

// spec returns the table row of kind.
func spec(kind FaultKind) (faultSpec, bool) {
	for _, s := range Table {
		if s.Kind == kind {
			return s, true
		}
	}
	return faultSpec{}, false
}

// ParseKinds reads a comma-separated list of fault kinds; "all" or "" is
// the whole table.
func ParseKinds(s string) ([]FaultKind, error) {
	if s == "" || s == "all" {
		kinds := make([]FaultKind, 0, len(Table))
		for _, f := range Table {
			kinds = append(kinds, f.Kind)
		}
		return kinds, nil
	}
	var kinds []FaultKind
	for _, name := range strings.Split(s, ",") {
		k := FaultKind(strings.TrimSpace(name))
		if _, ok := spec(k); !ok {
			var known []string
			for _, f := range Table {
				known = append(known, string(f.Kind))
			}
			return nil, fmt.Errorf("unknown fault %q; known: %s", k, strings.Join(known, ", "))
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// Fault is one drawn fault: what and when.
type Fault struct {
	Kind FaultKind
	// Phase is the dswap phase at whose first event the fault strikes
	// ("start": when dswap starts).
	Phase string
	Delay time.Duration
}

func (f Fault) String() string {
	if f.Kind == FaultNone {
		return string(f.Kind)
	}
	return fmt.Sprintf("%s at %s+%s", f.Kind, f.Phase, f.Delay)
}

// Draw picks swap index's fault among kinds. Each swap has a generator of
// its own, seeded by (seed, index), so that a replay that starts at a later
// index draws the same faults as the full run did.
func Draw(seed uint64, index int, kinds []FaultKind) Fault {
	rng := rand.New(rand.NewPCG(seed, uint64(index)))
	s, _ := spec(kinds[rng.IntN(len(kinds))])
	f := Fault{Kind: s.Kind, Phase: s.Phases[rng.IntN(len(s.Phases))]}
	if s.MaxDelay > 0 {
		// Whole milliseconds keep the printed moment exact for a replay.
		f.Delay = time.Duration(rng.Int64N(s.MaxDelay.Milliseconds()+1)) * time.Millisecond
	}
	return f
}
