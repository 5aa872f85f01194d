package bench

import (
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// Group is the measured run of one strategy in one scenario.
type Group struct {
	Scenario Scenario
	Strategy Strategy
	Clients  int
	Swaps    []Swap
	// Metrics[i] is what the load saw during Swaps[i].
	Metrics      []Metrics
	Steady       Metrics
	SteadyWindow Window
	// SteadyResults are the requests of the steady-state run.
	SteadyResults []loadgen.Result
	// FailureKinds counts the failures by kind, e.g. "HTTP 502 ×12".
	FailureKinds string
	// LoadAverages are the machine's 1-minute load averages before each
	// swap.
	LoadAverages []float64
}

// completed returns the indexes of the swaps that finished.
func (g *Group) completed() []int {
	var out []int
	for i, s := range g.Swaps {
		if s.Err == nil {
			out = append(out, i)
		}
	}
	return out
}

// measureGroup measures the steady-state run and each swap's load run.
func measureGroup(g *Group) {
	g.Steady = steady(g.SteadyResults, g.SteadyWindow, HungAfter)
	g.Metrics = make([]Metrics, len(g.Swaps))
	for i, s := range g.Swaps {
		g.Metrics[i] = measure(s.Results, s, s.Load, HungAfter)
	}
	g.FailureKinds = failureKinds(g)
}

// dropResults lets the requests go once tables and pictures are done.
func (g *Group) dropResults() {
	g.SteadyResults = nil
	for i := range g.Swaps {
		g.Swaps[i].Results = nil
	}
}

// column collects one value per swap; keep says whether the swap has it.
func column[T any](g *Group, get func(Swap, Metrics) (T, bool)) []T {
	var out []T
	for i, s := range g.Swaps {
		if v, ok := get(s, g.Metrics[i]); ok {
			out = append(out, v)
		}
	}
	return out
}

// durations collects one duration per swap.
func (g *Group) durations(get func(Swap, Metrics) (time.Duration, bool)) Spread {
	return durationSpread(column(g, get))
}

// counts collects one count per swap.
func (g *Group) counts(get func(Metrics) int) Spread {
	return intSpread(column(g, func(_ Swap, m Metrics) (int, bool) { return get(m), true }))
}
