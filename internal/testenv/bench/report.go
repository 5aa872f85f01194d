package bench

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// Targets, shown next to the measurements.
const (
	targetHealthyToTraffic = 400 * time.Millisecond
	targetReadyToNoticed   = 500 * time.Millisecond
	targetRSS              = 40e6 // bytes
	targetCPU              = 300 * time.Millisecond
)

// secs is the accessor shape for durations.
type secs = func(Swap, Metrics) (time.Duration, bool)

// GroupTable is the table of one strategy in one scenario: per metric the
// median and range over the swaps, the total where a sum means something,
// the steady state before the first swap, and the target.
func GroupTable(g *Group) Table {
	ok := g.completed()
	t := Table{
		Title:  fmt.Sprintf("scenario %s · strategy %s", g.Scenario.Name, g.Strategy.Name),
		Header: []string{"metric (per swap)", "median", "min–max", "total", "steady state", "target", ""},
	}
	steadyLen := g.SteadyWindow.To.Sub(g.SteadyWindow.From).Round(100 * time.Millisecond)
	t.Notes = append(t.Notes,
		"scenario: "+g.Scenario.Title,
		"strategy: "+g.Strategy.Title,
		fmt.Sprintf("%d swaps (%d completed), alternating v1→v2→v1…; %d closed-loop clients on 127.0.0.1; steady state = the %s before the first swap",
			len(g.Swaps), len(ok), g.Clients, steadyLen),
		"readiness decided by: "+readinessSummary(g.Swaps),
	)
	if note := loadNote(g.LoadAverages, runtime.NumCPU()); note != "" {
		t.Notes = append(t.Notes, note)
	}
	if g.FailureKinds != "" {
		t.Notes = append(t.Notes, "failures seen by the clients (steady state and swaps): "+g.FailureKinds)
	}
	for _, i := range failedSwaps(g) {
		t.Notes = append(t.Notes, fmt.Sprintf("swap %d failed: %v", i+1, g.Swaps[i].Err))
	}

	count := func(name string, get func(Metrics) int, steadyV int, target string, judge bool) {
		s := g.counts(get)
		row := []string{name, medianOf(s, fmtCount), rangeOf(s, fmtCount), fmtCount(s.Sum), fmtCount(float64(steadyV)), target, ""}
		if judge {
			row[6] = verdict(s.Sum == 0, s.N > 0)
		}
		t.Rows = append(t.Rows, row)
	}
	dur := func(name string, get secs, steadyV string, target string, judged string) {
		s := g.durations(get)
		t.Rows = append(t.Rows, []string{name, medianOf(s, fmtSeconds), rangeOf(s, fmtSeconds), "", steadyV, target, judged})
	}
	count("requests sent", func(m Metrics) int { return m.Requests }, g.Steady.Requests, "", false)
	count("failed (non-2xx or transport error)", func(m Metrics) int { return m.Failed }, g.Steady.Failed, "0 over 100 consecutive swaps", true)
	count(fmt.Sprintf("hung (≥ %s)", HungAfter), func(m Metrics) int { return m.Hung }, g.Steady.Hung, "0", true)
	if g.Scenario.Sessions > 0 {
		count(fmt.Sprintf("WebSocket sessions cut (of %d open)", g.Scenario.Sessions), func(m Metrics) int { return m.SessionsCut }, 0, "", false)
	}
	dur("latency p50", func(_ Swap, m Metrics) (time.Duration, bool) { return m.Latency.P50, m.Requests > 0 }, fmtSeconds(g.Steady.Latency.P50.Seconds()), "", "")
	dur("latency p99", func(_ Swap, m Metrics) (time.Duration, bool) { return m.Latency.P99, m.Requests > 0 }, fmtSeconds(g.Steady.Latency.P99.Seconds()), "", "")
	dur("latency max", func(_ Swap, m Metrics) (time.Duration, bool) { return m.Latency.Max, m.Requests > 0 }, fmtSeconds(g.Steady.Latency.Max.Seconds()), "", "")

	mixedA := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.MixedAnswers, true })
	dur("mixed-version window, by answer time", func(_ Swap, m Metrics) (time.Duration, bool) { return m.MixedAnswers, true }, "", "none", verdict(mixedA.Max == 0, mixedA.N > 0))
	mixedS := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.MixedSent, true })
	dur("mixed-version window, by send time", func(_ Swap, m Metrics) (time.Duration, bool) { return m.MixedSent, true }, "", "none", verdict(mixedS.Max == 0, mixedS.N > 0))

	h2t := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.HealthyToTraffic, m.HasTraffic })
	dur("new healthy → first request it answered", func(_ Swap, m Metrics) (time.Duration, bool) { return m.HealthyToTraffic, m.HasTraffic },
		"", "≤ "+fmtSeconds(targetHealthyToTraffic.Seconds())+" median", verdict(h2t.Median <= targetHealthyToTraffic.Seconds(), h2t.N > 0))
	if g.Strategy.Dswap {
		dur("new healthy → route confirmed (dswap's log)", func(s Swap, _ Metrics) (time.Duration, bool) {
			return s.FlippedAt.Sub(s.HealthyAt), !s.FlippedAt.IsZero() && !s.HealthyAt.IsZero()
		}, "", "", "")
	}
	r2h := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.ReadyToHealthy, m.HasReady })
	dur("app ready → readiness noticed", func(_ Swap, m Metrics) (time.Duration, bool) { return m.ReadyToHealthy, m.HasReady },
		"", "≤ "+fmtSeconds(targetReadyToNoticed.Seconds())+" median", verdict(r2h.Median <= targetReadyToNoticed.Seconds(), r2h.N > 0))
	dur("whole swap", func(s Swap, _ Metrics) (time.Duration, bool) { return s.Duration(), s.Err == nil }, "", "", "")

	if g.Strategy.Dswap {
		rss := spreadOf(column(g, func(s Swap, _ Metrics) (float64, bool) { return float64(s.MaxRSS), s.HasUsage }))
		t.Rows = append(t.Rows, []string{"dswap peak RSS", medianOf(rss, fmtMB), rangeOf(rss, fmtMB), "", "", "< 40 MB", verdict(rss.Max < targetRSS, rss.N > 0)})
		cpu := g.durations(func(s Swap, _ Metrics) (time.Duration, bool) { return s.CPU, s.HasUsage })
		t.Rows = append(t.Rows, []string{"dswap CPU time (user+sys)", medianOf(cpu, fmtSeconds), rangeOf(cpu, fmtSeconds), fmtSeconds(cpu.Sum), "", "< 0.3s per swap", verdict(cpu.Max < targetCPU.Seconds(), cpu.N > 0)})
	}
	failed := len(failedSwaps(g))
	t.Rows = append(t.Rows, []string{"swaps that failed", "", "", fmt.Sprint(failed), "", "0", verdict(failed == 0, true)})
	return t
}

// SummaryTable compares all groups on the headline numbers.
func SummaryTable(groups []*Group) Table {
	t := Table{
		Title: "summary (median over swaps unless marked max or total)",
		Header: []string{"scenario", "strategy", "swaps ok", "failed total", "hung total", "p99 median", "max latency, max",
			"mixed by answer, max", "mixed by send, max", "healthy → traffic", "ready → noticed", "whole swap", "dswap RSS, max", "dswap CPU, max", "sessions cut, total"},
	}
	for _, g := range groups {
		failed := g.counts(func(m Metrics) int { return m.Failed })
		hung := g.counts(func(m Metrics) int { return m.Hung })
		p99 := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.Latency.P99, m.Requests > 0 })
		worst := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.Latency.Max, m.Requests > 0 })
		mixedA := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.MixedAnswers, true })
		mixedS := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.MixedSent, true })
		h2t := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.HealthyToTraffic, m.HasTraffic })
		r2h := g.durations(func(_ Swap, m Metrics) (time.Duration, bool) { return m.ReadyToHealthy, m.HasReady })
		whole := g.durations(func(s Swap, _ Metrics) (time.Duration, bool) { return s.Duration(), s.Err == nil })
		rss, cpu, cut := "", "", ""
		if g.Scenario.Sessions > 0 {
			c := g.counts(func(m Metrics) int { return m.SessionsCut })
			cut = fmt.Sprintf("%s of %d", fmtCount(c.Sum), g.Scenario.Sessions*len(g.completed()))
		}
		if g.Strategy.Dswap {
			r := spreadOf(column(g, func(s Swap, _ Metrics) (float64, bool) { return float64(s.MaxRSS), s.HasUsage }))
			c := g.durations(func(s Swap, _ Metrics) (time.Duration, bool) { return s.CPU, s.HasUsage })
			rss, cpu = maxOf(r, fmtMB), maxOf(c, fmtSeconds)
		}
		t.Rows = append(t.Rows, []string{
			g.Scenario.Name, g.Strategy.Name,
			fmt.Sprintf("%d/%d", len(g.completed()), len(g.Swaps)),
			fmtCount(failed.Sum), fmtCount(hung.Sum),
			medianOf(p99, fmtSeconds), maxOf(worst, fmtSeconds),
			maxOf(mixedA, fmtSeconds), maxOf(mixedS, fmtSeconds),
			medianOf(h2t, fmtSeconds), medianOf(r2h, fmtSeconds), medianOf(whole, fmtSeconds),
			rss, cpu, cut,
		})
	}
	return t
}

// maxOf prints the maximum with f, or n/a.
func maxOf(s Spread, f func(float64) string) string {
	if s.N == 0 {
		return "n/a"
	}
	return f(s.Max)
}

// failedSwaps lists the indexes of swaps that did not complete.
func failedSwaps(g *Group) []int {
	var out []int
	for i, s := range g.Swaps {
		if s.Err != nil {
			out = append(out, i)
		}
	}
	return out
}

// readinessSummary lists the distinct "decided by" texts with how many
// swaps each covers.
func readinessSummary(swaps []Swap) string {
	counts := map[string]int{}
	for _, s := range swaps {
		r := s.Readiness
		if r == "" {
			r = "(not reported)"
		}
		counts[r]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%d swaps)", k, counts[k])
	}
	if len(parts) == 0 {
		return "n/a"
	}
	return strings.Join(parts, "; ")
}

// failureKinds counts the clients' failures by kind over all swaps and the
// steady state: "HTTP 502 ×120, transport error ×3".
func failureKinds(g *Group) string {
	counts := map[string]int{}
	add := func(rs []loadgen.Result) {
		for _, r := range rs {
			if !r.Failed() {
				continue
			}
			kind := "transport error"
			if r.Status != 0 {
				kind = fmt.Sprintf("HTTP %d", r.Status)
			} else if strings.Contains(r.Err, "timeout") || strings.Contains(r.Err, "deadline") {
				kind = "timeout"
			}
			counts[kind]++
		}
	}
	add(g.SteadyResults)
	for _, s := range g.Swaps {
		add(s.Results)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
