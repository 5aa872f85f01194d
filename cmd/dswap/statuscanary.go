package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

// canaryLiveWindow is how long dswap status reads Traefik's metrics for a
// service in a canary: long enough for a few requests of a service with
// steady traffic, short enough for a command a user waits on. Traefik's
// counters are cumulative, so two reads this far apart give the window's
// requests, errors and latency histogram.
const canaryLiveWindow = 2 * time.Second

// printCanaries writes, below the table, each service in a canary: its
// weights and what each version answered over the window.
func printCanaries(w io.Writer, statuses []server.ServiceStatus) error {
	for _, s := range statuses {
		cv := s.Canary
		if cv == nil {
			continue
		}
		state := "in a step, or left by a dswap that stopped during one"
		if cv.Paused {
			state = fmt.Sprintf("paused: dswap promote %s goes on, dswap abort %s goes back", s.Service, s.Service)
		}
		sticky := ""
		if cv.Sticky {
			sticky = ", sticky"
		}
		fmt.Fprintf(w, "\n%s: canary at %d%% (old version %d%%%s), %s\n", s.Service, cv.Weight, cv.StableWeight, sticky, state)
		if cv.MetricsError != "" {
			fmt.Fprintf(w, "  no live figures: %s\n", cv.MetricsError)
			continue
		}
		if cv.Stable == nil || cv.Canary == nil {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  VERSION\tWEIGHT\tREQ/S\tERRORS\tP99")
		childRow(tw, "new ("+strings.Join(cv.Canary.Services, ", ")+")", cv.Weight, cv.Canary)
		childRow(tw, "old ("+strings.Join(cv.Stable.Services, ", ")+")", cv.StableWeight, cv.Stable)
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "  over the last %.1fs of Traefik's metrics\n", cv.Window)
	}
	return nil
}

func childRow(w io.Writer, name string, weight int, c *server.ChildView) {
	p99 := "-"
	if c.P99 != nil {
		p99 = time.Duration(*c.P99 * float64(time.Second)).Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "  %s\t%d%%\t%.1f\t%s (%.0f of %.0f)\t%s\n", name, weight, c.RequestsPerSecond, percent(c.ErrorRate), c.Errors, c.Requests, p99)
}

// percent prints a share with one decimal.
func percent(r float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", r*100), ".0") + "%"
}

// printCanaryWarnings repeats, after a swap's final line, the canary steps
// that passed with a warning (too few requests to judge them).
func printCanaryWarnings(w io.Writer, res *swap.Result) {
	for _, step := range res.Canary {
		if step.Warning != "" {
			fmt.Fprintf(w, "dswap: warning: the %d%% canary step was not judged: %s\n", step.Weight, step.Warning)
		}
	}
}
