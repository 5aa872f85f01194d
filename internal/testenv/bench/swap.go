package bench

import (
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/timeline"
)

// Swap is what the harness recorded about one swap, before the load's
// requests are attributed to it.
type Swap struct {
	Index    int
	From, To string // versions the service answers with
	// Start and End are when the harness started and finished the swap
	// (for dswap: the process's start and exit).
	Start, End time.Time
	// StartedAt is the new container's State.StartedAt; ReadyAt is when
	// its /healthz started answering 200 (StartedAt + READY_AFTER).
	StartedAt, ReadyAt time.Time
	// HealthyAt is when the strategy learned that the new container was
	// ready: dswap's "healthy" event, or Docker's health_status event for
	// the label baseline.
	HealthyAt time.Time
	// FlippedAt is when dswap saw Traefik apply the new route (its
	// "traffic on new" event); zero for the label baseline, where Traefik
	// decides by itself.
	FlippedAt time.Time
	// Readiness says how readiness was decided (dswap's JSON result).
	Readiness string
	Marks     []timeline.Mark
	// Usage is dswap's own resource use; HasUsage is false for baselines.
	HasUsage bool
	MaxRSS   int64 // bytes
	CPU      time.Duration
	// Sessions were the WebSocket sessions open across the swap (scenario
	// ws); SessionsCut those of them that had ended, not closed by the
	// client, SwapSpacing after it.
	Sessions, SessionsCut int
	// Err is set when the swap did not complete; the service then still
	// runs From.
	Err error
	// Load is the window of the load run around this swap: from its first
	// request, a little before Start, to SwapSpacing after End. Results
	// are that run's requests.
	Load    Window
	Results []loadgen.Result
	// collect waits for the load run's last requests and returns all of
	// the run's results.
	collect func() []loadgen.Result
}

// Duration is the whole swap, as the harness saw it.
func (s Swap) Duration() time.Duration { return s.End.Sub(s.Start) }

// Window is a time range [From, To).
type Window struct{ From, To time.Time }

// Contains reports whether t is in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }
