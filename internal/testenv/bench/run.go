// Package bench measures swaps: it runs dswap and a model of the
// label-based rollout tools against Traefik and a test service on the
// local Docker Engine, under constant closed-loop load from 127.0.0.1, and
// reports what the clients saw (failures, hangs, latency, mixed versions)
// and what the swap cost, as tables and one timeline picture per strategy
// and scenario. cmd/dswap-bench is its command line.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// Run runs every selected strategy in every selected scenario, printing
// each table as soon as its group is done, then the summary, and writes
// the Markdown document and the timelines.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return fmt.Errorf("creating -out directory: %w", err)
	}
	if o.DswapBin == "" && needsDswap(o.Strategies) {
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
	header := headerLines(o, facts)
	for _, l := range header {
		fmt.Fprintln(o.Out, l)
	}
	fmt.Fprintln(o.Out)

	runID := randomHex(2)
	var groups []*Group
	var svgs []string
	for _, sc := range o.Scenarios {
		for _, st := range o.Strategies {
			g, err := runGroup(ctx, o, runID, sc, st)
			if err != nil {
				return fmt.Errorf("scenario %s, strategy %s: %w", sc.Name, st.Name, err)
			}
			measureGroup(g)
			if err := GroupTable(g).WriteText(o.Out); err != nil {
				return err
			}
			fmt.Fprintln(o.Out)
			if _, err := writeCSVFile(o.OutDir, g); err != nil {
				return err
			}
			path, err := writeTimeline(o.OutDir, g)
			if err != nil {
				return err
			}
			if path != "" {
				svgs = append(svgs, path)
				fmt.Fprintf(o.Out, "timeline of the median swap: %s\n\n", path)
			}
			g.dropResults()
			groups = append(groups, g)
		}
	}
	if err := SummaryTable(groups).WriteText(o.Out); err != nil {
		return err
	}
	if o.Markdown != "" {
		if err := writeMarkdown(o.Markdown, header, groups, svgs); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "\nMarkdown: %s\n", o.Markdown)
	}
	return nil
}

// buildDswap builds ./cmd/dswap to path.
func buildDswap(ctx context.Context, path string) error {
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/dswap").CombinedOutput(); err != nil {
		return fmt.Errorf("building dswap (run from the repository root): %v\n%s", err, out)
	}
	return nil
}

func needsDswap(sts []Strategy) bool {
	for _, s := range sts {
		if s.Dswap {
			return true
		}
	}
	return false
}

// runGroup measures one strategy in one scenario on a lab of its own, so
// that nothing one run leaves behind (a hung connection, a Traefik reload
// in progress) reaches the next.
func runGroup(ctx context.Context, o Options, runID string, sc Scenario, st Strategy) (g *Group, err error) {
	logf := func(format string, args ...any) {
		fmt.Fprintf(o.Log, "bench [%s/%s]: %s\n", sc.Name, st.Name, fmt.Sprintf(format, args...))
	}
	prefix := fmt.Sprintf("dswap-bench-%s-%s-%s", runID, sc.Name, st.Slug)
	l, err := lab.New(ctx, lab.Options{Prefix: prefix, TraefikBin: o.TraefikBin, DockerProvider: !st.Dswap, Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := l.Close(ctx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	env := map[string]string{}
	if sc.ReadyAfter > 0 {
		env["READY_AFTER"] = sc.ReadyAfter.String()
	}
	v1 := image{Tag: prefix + "-app:v1", Version: "v1"}
	v2 := image{Tag: prefix + "-app:v2", Version: "v2"}
	for _, img := range []image{v1, v2} {
		if err := l.BuildApp(ctx, lab.AppImage{Tag: img.Tag, Version: img.Version, Env: env, HealthInterval: sc.HealthInterval}); err != nil {
			return nil, err
		}
	}
	var sw swapper
	if st.Dswap {
		ds := newDswapSwapper(l, sc, st, o.DswapBin)
		defer ds.close()
		sw = ds
	} else {
		sw = newLabelSwapper(l, sc, st.Grace)
	}
	logf("starting %s and waiting until it is healthy", v1.Tag)
	if err := sw.start(ctx, v1); err != nil {
		return nil, err
	}
	o.webURL = l.WebURL
	if err := waitRouted(ctx, o.webURL, v1.Version); err != nil {
		return nil, err
	}

	g = &Group{Scenario: sc, Strategy: st, Clients: o.Clients}
	steadyLen := max(5*time.Second, 4*sc.Delay)
	logf("steady state for %s", steadyLen)
	ld, err := startLoad(ctx, o, sc, v1.Version, steadyLen)
	if err != nil {
		return nil, err
	}
	g.SteadyWindow.From = ld.started
	if err := pause(ctx, steadyLen); err != nil {
		ld.Stop()
		return nil, err
	}
	g.SteadyWindow.To = time.Now()
	g.SteadyResults = ld.Stop().Results

	current, next := v1, v2
	for i := range o.Swaps {
		if v, ok := loadAverage(); ok {
			g.LoadAverages = append(g.LoadAverages, v)
		}
		s, err := swapUnderLoad(ctx, o, sc, sw, i, current, next)
		if err != nil {
			return nil, fmt.Errorf("swap %d (%s → %s): %w", i+1, current.Version, next.Version, err)
		}
		g.Swaps = append(g.Swaps, s)
		status := "ok"
		if s.Err != nil {
			status = "FAILED: " + s.Err.Error()
		} else {
			current, next = next, current
		}
		logf("swap %d/%d %s → %s: %s, %s", i+1, o.Swaps, s.From, s.To, s.Duration().Round(time.Millisecond), status)
	}
	logf("waiting for the last in-flight requests")
	for i := range g.Swaps {
		g.Swaps[i].Results = g.Swaps[i].collect()
	}
	return g, nil
}

// preSwap is how long the load runs before each swap starts, so that the
// numbers and the picture include normal traffic before it, and slow
// requests are in flight when it starts.
const preSwap = time.Second

// swapUnderLoad runs one swap inside a load run of its own: the load
// starts, reaches the current version, runs preSwap, the swap runs, the
// load goes on for SwapSpacing and then stops sending. A fresh run per
// swap means that clients a previous swap left hanging (the label baseline
// leaves some for up to Traefik's 30 s dial timeout) do not thin out the
// load of the next one. The run's in-flight requests finish in the
// background (each is bounded by the load's request timeout); collect
// waits for them, and every request of the run counts for this swap.
func swapUnderLoad(ctx context.Context, o Options, sc Scenario, sw swapper, i int, from, to image) (Swap, error) {
	if err := waitRouted(ctx, o.webURL, from.Version); err != nil {
		return Swap{}, err
	}
	ld, err := startLoad(ctx, o, sc, from.Version, preSwap+swapTimeout(sc)+SwapSpacing)
	if err != nil {
		return Swap{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			ld.Stop()
		}
	}()
	var ws *sessions
	if sc.Sessions > 0 {
		if ws, err = openSessions(ctx, o.webURL, sc.Sessions, from.Version); err != nil {
			return Swap{}, err
		}
		defer ws.close()
	}
	if err := pause(ctx, preSwap); err != nil {
		return Swap{}, err
	}
	s, err := sw.swap(ctx, i, from, to)
	if err != nil {
		return s, err
	}
	if err := pause(ctx, SwapSpacing); err != nil {
		return s, err
	}
	if ws != nil {
		s.Sessions, s.SessionsCut = sc.Sessions, ws.cut()
		// Closed by the client now: with --keep-connections, the old
		// container's linger ends and the keeper removes it.
		ws.close()
	}
	select {
	case <-ld.Done():
		return s, fmt.Errorf("the load stopped before the swap's window ended (its bound was too short)")
	default:
	}
	s.Load = Window{From: ld.started, To: time.Now()}
	report := make(chan *loadgen.Report, 1)
	go func() { report <- ld.Stop() }()
	stopped = true
	s.collect = func() []loadgen.Result { return (<-report).Results }
	return s, nil
}

// loadRun is a load run and when it started.
type loadRun struct {
	*loadgen.Run
	started time.Time
}

// startLoad starts the closed-loop clients and waits (up to a minute)
// until the service answers with version through Traefik. bound is how
// long the run needs; a minute is added before the load stops by itself.
func startLoad(ctx context.Context, o Options, sc Scenario, version string, bound time.Duration) (*loadRun, error) {
	started := time.Now()
	ld, err := loadgen.Start(ctx, loadgen.Options{
		URL: o.webURL + "/", Host: serviceHost, Clients: o.Clients, Hung: HungAfter,
		Query:       "delay=" + sc.Delay.String(),
		MaxDuration: bound + time.Minute,
	})
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := ld.WaitVersion(waitCtx, version); err != nil {
		ld.Stop()
		return nil, fmt.Errorf("the load never reached %s through Traefik: %w", version, err)
	}
	return &loadRun{Run: ld, started: started}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
