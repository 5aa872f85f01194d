package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/dswap-dev/dswap/timeline"
)

// facts describe the machine and the programs measured.
type facts struct {
	Date    time.Time
	CPUs    int
	Docker  string
	Traefik string
	Go      string
	Commit  string
}

// gatherFacts asks the Engine, the Traefik binary and git, each with a
// short deadline; what cannot be found is printed as unknown.
func gatherFacts(ctx context.Context, o Options) facts {
	f := facts{Date: time.Now().UTC(), CPUs: runtime.NumCPU(), Go: runtime.Version(), Docker: "unknown", Traefik: "unknown", Commit: "unknown"}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err == nil {
		if v, err := c.ServerVersion(ctx); err == nil {
			f.Docker = fmt.Sprintf("%s (API %s, negotiated %s), %s", v.Version, v.APIVersion, c.ClientVersion(), v.KernelVersion)
		}
		_ = c.Close()
	}
	if out, err := exec.CommandContext(ctx, o.TraefikBin, "version").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version:"); ok {
				f.Traefik = strings.TrimSpace(v) + " (built from its Go module)"
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output(); err == nil {
		f.Commit = strings.TrimSpace(string(out))
	}
	return f
}

// headerLines say what was run, where, and how to read the tables.
func headerLines(o Options, f facts) []string {
	dswapFrom := "built from the working tree (" + f.Commit + ")"
	if o.DswapBin != "" {
		dswapFrom = o.DswapBin + " (working tree " + f.Commit + ")"
	}
	return []string{
		"dswap benchmark, " + f.Date.Format("2006-01-02 15:04 MST"),
		"command: " + o.Command,
		fmt.Sprintf("machine: %d CPUs; Docker Engine %s; Traefik %s; %s", f.CPUs, f.Docker, f.Traefik, f.Go),
		"dswap: " + dswapFrom,
		fmt.Sprintf("load: %d closed-loop clients on 127.0.0.1 through Traefik's web entrypoint; a request is hung at ≥ %s, failed on a non-2xx answer or a transport error", o.Clients, HungAfter),
		fmt.Sprintf("spacing: swaps start %s apart at least, more than Traefik's 2 s provider throttle (providers.providersThrottleDuration), so one swap's route change cannot delay the next flip", SwapSpacing),
		fmt.Sprintf("windows: each swap runs under a load run of its own: the load reaches the current version, runs %s, the swap runs, the load goes on for %s and stops; every request of that run counts for the swap, and in-flight ones (hung ones too) are waited for, so clients a swap left hanging cannot thin out the next swap's load", preSwap, SwapSpacing),
		"steady state: a separate load run of the same clients before the first swap",
		"each (scenario, strategy) runs on a fresh lab: its own Traefik, network and images",
	}
}

// writeTimeline draws the swap of median duration of a group into dir and
// returns the file's path; "" when no swap completed.
func writeTimeline(dir string, g *Group) (string, error) {
	var idx []int
	var durs []time.Duration
	for _, i := range g.completed() {
		idx = append(idx, i)
		durs = append(durs, g.Swaps[i].Duration())
	}
	m := medianIndex(durs)
	if m < 0 {
		return "", nil
	}
	i := idx[m]
	s := g.Swaps[i]
	from, to := s.Load.From, s.Load.To
	mt := g.Metrics[i]
	tl := timeline.Timeline{
		Title:     fmt.Sprintf("%s, scenario %s: swap %d of %d, %s → %s, %.2fs (the median)", g.Strategy.Name, g.Scenario.Name, i+1, len(g.Swaps), s.From, s.To, s.Duration().Seconds()),
		Start:     from,
		End:       to,
		Width:     BucketWidth,
		Buckets:   Bucketize(s.Results, from, to, BucketWidth, HungAfter),
		Marks:     s.Marks,
		HungAfter: HungAfter,
		Colors:    map[string]string{"v1": "#4e79a7", "v2": "#59a14f"},
		Note: fmt.Sprintf("%s. Requests by the 100 ms in which they were sent, coloured by the version that answered. This swap: %d requests, %d failed, %d hung, latency %s, mixed-version window %s by answer time and %s by send time. Load: %d closed-loop clients, %s per request.",
			g.Scenario.Title, mt.Requests, mt.Failed, mt.Hung, mt.Latency, fmtSeconds(mt.MixedAnswers.Seconds()), fmtSeconds(mt.MixedSent.Seconds()), g.Clients, g.Scenario.Delay),
	}
	path := filepath.Join(dir, g.Scenario.Name+"-"+g.Strategy.Slug+".svg")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("writing timeline: %w", err)
	}
	if err := timeline.Render(f, tl); err != nil {
		_ = f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing timeline %s: %w", path, err)
	}
	return path, nil
}

// writeMarkdown writes the header, every group's table, the summary and
// links to the timelines.
func writeMarkdown(path string, header []string, groups []*Group, svgs []string) error {
	var b strings.Builder
	b.WriteString("## " + header[0] + "\n\n")
	for _, l := range header[1:] {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\n")
	if err := SummaryTable(groups).WriteMarkdown(&b); err != nil {
		return err
	}
	for _, g := range groups {
		if err := GroupTable(g).WriteMarkdown(&b); err != nil {
			return err
		}
	}
	if len(svgs) > 0 {
		b.WriteString("### Timelines (the median swap of each run)\n\n")
		for _, s := range svgs {
			fmt.Fprintf(&b, "- [%s](%s)\n", filepath.Base(s), s)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
