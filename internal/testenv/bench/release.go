package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// The release scenarios measure what dswap does with a release that
// passes its HEALTHCHECK but fails a share of real requests (testapp's
// FAIL_RATE), and what a canary costs a good release: each strategy swaps
// the service from v1 to the release under load, and the table counts the
// requests that failed from the swap's start to ReleaseObserve after dswap
// exited, and how long the bad version took traffic before all of it was
// back on v1.

// ReleaseObserve is how long the load goes on after dswap exits: a plain
// swap of a bad release keeps failing requests then, the others have
// rolled back.
const ReleaseObserve = 10 * time.Second

// releaseDelay is the test service's time per request in these runs.
const releaseDelay = 10 * time.Millisecond

// releaseCase is one row group: a strategy applied to a release.
type releaseCase struct {
	Name string
	Bad  bool     // the release fails FAIL_RATE of its requests
	Args []string // dswap up's flags
}

// The canary and monitor settings a user of these flags would pick for a
// service at this request rate: a 1% error budget, judged on at least 50
// requests (--min-requests' default).
var releaseCases = []releaseCase{
	{Name: "plain swap", Bad: true},
	{Name: "plain swap, --monitor 30s --max-error-rate 1%", Bad: true, Args: []string{"--monitor", "30s", "--max-error-rate", "1%"}},
	{Name: "--canary 5%,50% --step 10s --max-error-rate 1%", Bad: true, Args: []string{"--canary", "5%,50%", "--step", "10s", "--max-error-rate", "1%"}},
	{Name: "plain swap", Args: nil},
	{Name: "--canary 5%,50% --step 10s --max-error-rate 1%", Args: []string{"--canary", "5%,50%", "--step", "10s", "--max-error-rate", "1%"}},
}

// releaseRun is one measured swap of a case.
type releaseRun struct {
	ExitCode int
	Total    time.Duration // dswap up, start to exit
	// Exposed is how long the release took traffic: from the first route
	// that gave it some (the first canary weight, or the flip) to dswap's
	// exit for a rollback; for a release that stayed, to the end of the
	// window.
	Exposed      time.Duration
	RolledBack   bool
	Requests     int // sent from the swap's start to ReleaseObserve after its end
	Failed       int
	FailedReason string
}

// FailRate is the bad release's share of failed requests.
const FailRate = "0.2"

// RunReleases runs every release case o.Swaps times on one lab and prints
// (and with o.Markdown writes) its table.
func RunReleases(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.DswapBin == "" {
		tmp, err := os.MkdirTemp("", "dswap-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		o.DswapBin = filepath.Join(tmp, "dswap")
		fmt.Fprintln(o.Log, "bench: building dswap from ./cmd/dswap")
		if err := buildDswap(ctx, o.DswapBin); err != nil {
			return err
		}
	}
	facts := gatherFacts(ctx, o)
	header := headerLines(o, facts)[:5] // the swap runs' spacing and windows are not these
	for _, l := range header {
		fmt.Fprintln(o.Out, l)
	}
	prefix := "dswap-bench-" + randomHex(2) + "-release"
	l, err := lab.New(ctx, lab.Options{Prefix: prefix, TraefikBin: o.TraefikBin, Log: o.Log})
	if err != nil {
		return err
	}
	defer func() { _ = l.Close(context.WithoutCancel(ctx)) }()
	v1 := image{Tag: prefix + "-app:v1", Version: "v1"}
	good := image{Tag: prefix + "-app:v2", Version: "v2"}
	bad := image{Tag: prefix + "-app:v2-bad", Version: "v2"}
	for _, img := range []struct {
		image
		env map[string]string
	}{{v1, nil}, {good, nil}, {bad, map[string]string{"FAIL_RATE": FailRate}}} {
		if err := l.BuildApp(ctx, lab.AppImage{Tag: img.Tag, Version: img.Version, Env: img.env}); err != nil {
			return err
		}
	}
	sc := Scenario{Name: "release", Delay: releaseDelay, HealthInterval: time.Second}
	ds := newDswapSwapper(l, sc, Strategy{Name: "dswap", Dswap: true}, o.DswapBin)
	if err := ds.start(ctx, v1); err != nil {
		return err
	}
	o.webURL = l.WebURL
	results := make([][]releaseRun, len(releaseCases))
	for k := range o.Swaps {
		for i, c := range releaseCases {
			to := good
			if c.Bad {
				to = bad
			}
			r, err := releaseOnce(ctx, o, ds, sc, v1, to, c)
			if err != nil {
				return fmt.Errorf("%s (run %d): %w", c.Name, k+1, err)
			}
			fmt.Fprintf(o.Log, "bench [release]: %s, %s release, run %d: exit %d, %d of %d failed, exposed %s, total %s\n",
				c.Name, goodOrBad(c.Bad), k+1, r.ExitCode, r.Failed, r.Requests, r.Exposed.Round(time.Millisecond), r.Total.Round(time.Millisecond))
			results[i] = append(results[i], r)
		}
	}
	t := releaseTable(o, results)
	if err := t.WriteText(o.Out); err != nil {
		return err
	}
	if o.Markdown != "" {
		f, err := os.Create(o.Markdown)
		if err != nil {
			return err
		}
		for _, l := range header {
			fmt.Fprintln(f, l+"  ")
		}
		fmt.Fprintln(f)
		if err := t.WriteMarkdown(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "\nMarkdown: %s\n", o.Markdown)
	}
	return nil
}

func goodOrBad(bad bool) string {
	if bad {
		return "bad"
	}
	return "good"
}

// releaseOnce swaps the service from v1 to release under load, measures,
// and puts v1 back (unmeasured) if the release stayed.
func releaseOnce(ctx context.Context, o Options, ds *dswapSwapper, sc Scenario, v1, release image, c releaseCase) (releaseRun, error) {
	var r releaseRun
	if err := waitRouted(ctx, o.webURL, v1.Version); err != nil {
		return r, err
	}
	ld, err := loadgen.Start(ctx, loadgen.Options{URL: o.webURL + "/", Host: serviceHost, Clients: o.Clients, Hung: HungAfter,
		Query: "delay=" + sc.Delay.String(), MaxDuration: 5 * time.Minute})
	if err != nil {
		return r, err
	}
	defer ld.Stop()
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = ld.WaitVersion(waitCtx, v1.Version)
	cancel()
	if err != nil {
		return r, err
	}
	if err := pause(ctx, preSwap); err != nil {
		return r, err
	}
	swapCtx, cancel := context.WithTimeout(ctx, swapTimeout(sc)+time.Minute)
	args := append([]string{"up", release.Tag, "--service", serviceName, "--output", "json", "--drain", "2s"}, c.Args...)
	run, err := runDswap(swapCtx, ds.bin, ds.env, true, args...)
	cancel()
	if err != nil {
		return r, err
	}
	if err := pause(ctx, ReleaseObserve); err != nil {
		return r, err
	}
	rep := ld.Stop()
	r.ExitCode, r.Total = run.ExitCode, run.End.Sub(run.Start)
	r.RolledBack = run.ExitCode == 1
	r.FailedReason = firstLine(run.Result.Error)
	exposedFrom := time.Time{}
	for _, ev := range run.Events {
		if ev.Msg == "weights applied" || ev.Msg == "traffic on new" {
			exposedFrom = ev.Time
			break
		}
	}
	exposedTo := run.End
	if !r.RolledBack {
		exposedTo = run.End.Add(ReleaseObserve)
	}
	if !exposedFrom.IsZero() {
		r.Exposed = exposedTo.Sub(exposedFrom)
	}
	window := Window{From: run.Start, To: run.End.Add(ReleaseObserve)}
	for _, res := range rep.Results {
		if window.Contains(res.Start) {
			r.Requests++
			if res.Failed() {
				r.Failed++
			}
		}
	}
	if run.ExitCode == 0 {
		// The release stayed: put v1 back for the next run.
		back, err := runDswap(ctx, ds.bin, ds.env, true, "up", v1.Tag, "--service", serviceName, "--output", "json", "--drain", "2s")
		if err != nil {
			return r, err
		}
		if back.ExitCode != 0 {
			return r, fmt.Errorf("swapping back to %s: exit code %d: %s", v1.Tag, back.ExitCode, firstLine(back.Result.Error))
		}
	}
	return r, nil
}

// releaseTable summarises each case: medians and ranges over the runs.
func releaseTable(o Options, results [][]releaseRun) Table {
	t := Table{
		Title: "A release that passes its HEALTHCHECK but fails 20% of its requests, and a good one",
		Notes: []string{
			fmt.Sprintf("%d run(s) per row, %d closed-loop clients, %s per request, through Traefik on 127.0.0.1; requests counted from dswap up's start to %s after it exited.", o.Swaps, o.Clients, releaseDelay, ReleaseObserve),
			"exposed: from the first route that gave the release traffic (its first canary weight, or the flip) to dswap's exit after the rollback, confirmed by Traefik; for a release that stayed, to the end of the window (it keeps failing after it).",
		},
		Header: []string{"release", "strategy", "exit", "failed requests (median, range)", "of requests", "exposed (median)", "dswap up took (median, range)"},
	}
	for i, c := range releaseCases {
		runs := results[i]
		if len(runs) == 0 {
			continue
		}
		var failed, total []int
		var exposed, took []time.Duration
		exits := map[int]int{}
		for _, r := range runs {
			failed, total = append(failed, r.Failed), append(total, r.Requests)
			exposed, took = append(exposed, r.Exposed), append(took, r.Total)
			exits[r.ExitCode]++
		}
		exp := durationCell(medianDuration(exposed))
		if !c.Bad {
			exp = "-"
		} else if !runs[0].RolledBack {
			exp = ">= " + exp + " (not rolled back)"
		}
		t.Rows = append(t.Rows, []string{
			goodOrBad(c.Bad) + " v2", c.Name, exitCell(exits),
			fmt.Sprintf("%d (%d to %d)", medianInt(failed), minInt(failed), maxInt(failed)),
			fmt.Sprintf("%d", medianInt(total)), exp,
			fmt.Sprintf("%s (%s to %s)", durationCell(medianDuration(took)), durationCell(minDuration(took)), durationCell(maxDuration(took))),
		})
	}
	return t
}

func exitCell(exits map[int]int) string {
	codes := make([]int, 0, len(exits))
	for c := range exits {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	s := ""
	for i, c := range codes {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d", c)
		if len(codes) > 1 {
			s += fmt.Sprintf(" (x%d)", exits[c])
		}
	}
	return s
}

func durationCell(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func medianInt(v []int) int {
	s := append([]int(nil), v...)
	sort.Ints(s)
	return s[len(s)/2]
}

func minInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func medianDuration(v []time.Duration) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func minDuration(v []time.Duration) time.Duration {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxDuration(v []time.Duration) time.Duration {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
