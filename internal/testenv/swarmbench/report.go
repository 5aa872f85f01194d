package swarmbench

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/bench"
)

// fmtSince prints how long after the swap's start t came.
func fmtSince(s Swap, t time.Time) string {
	d := s.sinceStart(t)
	if d < 0 {
		return "never"
	}
	return fmtDuration(d)
}

func fmtDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// swapsTable is one row per swap of a group.
func swapsTable(g *Group) bench.Table {
	t := bench.Table{
		Title: fmt.Sprintf("Swarm · %s", g.Strategy.Name),
		Notes: []string{g.Strategy.Title,
			fmt.Sprintf("%d nodes, %d replicas (tasks per node before the first swap: %v), %d clients, %s requests; the load runs %s before the command and %s after it", g.Nodes, g.Replicas, g.Spread, g.Clients, Delay, PreSwap, Settle)},
		Header: []string{"swap", "command", "requests", "failed", "hung", "first new", "all new", "failures"},
	}
	for _, s := range g.Swaps {
		result := fmtDuration(s.End.Sub(s.Start))
		if s.Err != nil {
			result += " (failed)"
		}
		t.Rows = append(t.Rows, []string{
			fmt.Sprintf("%d %s→%s", s.Index+1, s.From, s.To), result,
			fmt.Sprint(s.Requests), fmt.Sprint(s.Failed), fmt.Sprint(s.Hung),
			fmtSince(s, s.FirstNew), fmtSince(s, s.FullNew), failureSummary(s.Failures),
		})
	}
	return t
}

// SummaryTable is one row per strategy.
func SummaryTable(groups []*Group) bench.Table {
	t := bench.Table{
		Title:  "Swarm summary",
		Notes:  []string{"all new: from the command's start to the send time from which every request was answered by the new version (median, min–max); command: the swap command's wall time"},
		Header: []string{"strategy", "swaps ok", "requests", "failed total (per swap)", "hung total", "all new, median (min–max)", "command, median (min–max)"},
	}
	for _, g := range groups {
		var ok, requests, failed, hung int
		var perSwap []string
		var allNew, command []time.Duration
		never := 0
		for _, s := range g.Swaps {
			if s.Err == nil {
				ok++
			}
			requests += s.Requests
			failed += s.Failed
			hung += s.Hung
			perSwap = append(perSwap, fmt.Sprint(s.Failed))
			if d := s.sinceStart(s.FullNew); d >= 0 {
				allNew = append(allNew, d)
			} else {
				never++
			}
			command = append(command, s.End.Sub(s.Start))
		}
		an := spreadOf(allNew)
		if never > 0 {
			an += fmt.Sprintf(", never in %d", never)
		}
		t.Rows = append(t.Rows, []string{
			g.Strategy.Name, fmt.Sprintf("%d/%d", ok, len(g.Swaps)), fmt.Sprint(requests),
			fmt.Sprintf("%d (%s)", failed, strings.Join(perSwap, ", ")), fmt.Sprint(hung),
			an, spreadOf(command),
		})
	}
	return t
}

// spreadOf prints "median (min–max)" of ds, or n/a.
func spreadOf(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("%s (%s–%s)", fmtDuration(med), fmtDuration(s[0]), fmtDuration(s[len(s)-1]))
}

// writeMarkdown writes the header and every table as Markdown.
func writeMarkdown(path string, o Options, groups []*Group) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing -md: %w", err)
	}
	defer f.Close()
	fmt.Fprintf(f, "Command: `%s`, %s\n\n", o.Command, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	for _, g := range groups {
		if err := swapsTable(g).WriteMarkdown(f); err != nil {
			return err
		}
	}
	if err := SummaryTable(groups).WriteMarkdown(f); err != nil {
		return err
	}
	return f.Close()
}
