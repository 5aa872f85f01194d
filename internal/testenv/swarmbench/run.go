package swarmbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// Group is one strategy's swaps.
type Group struct {
	Strategy Strategy
	Nodes    int
	Replicas int
	Clients  int
	Swaps    []Swap
	// Spread is how many of the service's tasks ran on each node before
	// the first swap, by node index.
	Spread []int
}

// Run measures every selected strategy on a Swarm of its own and prints
// the tables.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	for _, st := range o.Strategies {
		if st.Dswap && o.DswapBin == "" {
			tmp, err := os.MkdirTemp("", "dswap-swarmbench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			o.DswapBin = filepath.Join(tmp, "dswap")
			fmt.Fprintln(o.Log, "swarmbench: building dswap from ./cmd/dswap")
			if out, err := exec.CommandContext(ctx, "go", "build", "-o", o.DswapBin, "./cmd/dswap").CombinedOutput(); err != nil {
				return fmt.Errorf("building dswap (run from the repository root): %v\n%s", err, out)
			}
		}
	}
	fmt.Fprintf(o.Out, "Swarm benchmark: %d nodes, %d replicas, %d closed-loop clients, %s requests, %d swaps per strategy\ncommand: %s\n\n",
		o.Nodes, o.Replicas, o.Clients, Delay, o.Swaps, o.Command)
	var groups []*Group
	for _, st := range o.Strategies {
		g, err := runGroup(ctx, o, st)
		if err != nil {
			return fmt.Errorf("strategy %s: %w", st.Name, err)
		}
		groups = append(groups, g)
		if err := swapsTable(g).WriteText(o.Out); err != nil {
			return err
		}
		fmt.Fprintln(o.Out)
	}
	if err := SummaryTable(groups).WriteText(o.Out); err != nil {
		return err
	}
	if o.Markdown != "" {
		if err := writeMarkdown(o.Markdown, o, groups); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "\nMarkdown: %s\n", o.Markdown)
	}
	return nil
}

// runGroup measures one strategy on a Swarm of its own.
func runGroup(ctx context.Context, o Options, st Strategy) (g *Group, err error) {
	logf := func(format string, args ...any) {
		fmt.Fprintf(o.Log, "swarmbench [%s]: %s\n", st.Name, fmt.Sprintf(format, args...))
	}
	s, err := lab.StartSwarm(ctx, lab.SwarmOptions{Nodes: o.Nodes, TraefikBin: o.TraefikBin, SwarmProvider: !st.Dswap, Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	v1, v2 := s.Prefix+"-app:v1", s.Prefix+"-app:v2"
	for _, img := range []lab.AppImage{{Tag: v1, Version: "v1"}, {Tag: v2, Version: "v2"}} {
		img.HealthInterval = time.Second
		if err := s.BuildApp(ctx, img); err != nil {
			return nil, err
		}
	}
	var sw swapper
	if st.Dswap {
		sw = &dswapSwapper{s: s, replicas: o.Replicas, bin: o.DswapBin}
	} else {
		sw = &serviceUpdate{s: s, replicas: o.Replicas}
	}
	logf("starting %s with %d replicas", v1, o.Replicas)
	if err := sw.start(ctx, v1); err != nil {
		return nil, err
	}
	g = &Group{Strategy: st, Nodes: o.Nodes, Replicas: o.Replicas, Clients: o.Clients}
	if g.Spread, err = spread(ctx, s); err != nil {
		return nil, err
	}
	images := map[string]string{"v1": v1, "v2": v2}
	from, to := "v1", "v2"
	for i := range o.Swaps {
		if err := awaitServing(ctx, s.Entry, from); err != nil {
			return nil, fmt.Errorf("before swap %d: %w", i+1, err)
		}
		swp, err := swapUnderLoad(ctx, o, s, sw, i, images[to], from, to)
		if err != nil {
			return nil, fmt.Errorf("swap %d (%s → %s): %w", i+1, from, to, err)
		}
		g.Swaps = append(g.Swaps, swp)
		status := "ok"
		if swp.Err != nil {
			status = "FAILED: " + swp.Err.Error() + "\n" + swp.Output
		} else {
			from, to = to, from
		}
		logf("swap %d/%d %s → %s: command %s, %d requests, %d failed, %d hung, all new after %s; %s",
			i+1, o.Swaps, swp.From, swp.To, swp.End.Sub(swp.Start).Round(time.Millisecond), swp.Requests, swp.Failed, swp.Hung, fmtSince(swp, swp.FullNew), status)
	}
	return g, nil
}

// swapUnderLoad runs one swap inside a load run of its own: the load
// starts, reaches the current version, runs PreSwap, the command runs, the
// load goes on for Settle, then stops and waits for its requests in flight.
func swapUnderLoad(ctx context.Context, o Options, s *lab.Swarm, sw swapper, i int, image, from, to string) (Swap, error) {
	ld, err := loadgen.Start(ctx, loadgen.Options{
		URL: s.Entry + "/", Host: serviceHost, Clients: o.Clients, Hung: HungAfter,
		Query:       "delay=" + Delay.String(),
		MaxDuration: PreSwap + commandTimeout + Settle + time.Minute,
	})
	if err != nil {
		return Swap{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			ld.Stop()
		}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = ld.WaitVersion(waitCtx, from)
	cancel()
	if err != nil {
		return Swap{}, fmt.Errorf("the load never reached %s: %w", from, err)
	}
	if err := pause(ctx, PreSwap); err != nil {
		return Swap{}, err
	}
	swp, err := sw.swap(ctx, i, image)
	if err != nil {
		return swp, err
	}
	swp.From, swp.To = from, to
	if err := pause(ctx, Settle); err != nil {
		return swp, err
	}
	stopped = true
	rep := ld.Stop()
	swp.Metrics = measure(rep.Results, HungAfter, to)
	return swp, nil
}

// awaitServing waits until 20 probes in a row through Traefik are
// answered by version: the previous swap is over for the clients too.
func awaitServing(ctx context.Context, entry, version string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	inARow := 0
	var last string
	for {
		v, err := lab.ProbeVersion(ctx, entry+"/", serviceHost)
		switch {
		case err != nil:
			inARow, last = 0, err.Error()
		case v != version:
			inARow, last = 0, "answered by "+v
		default:
			inARow++
		}
		if inARow == 20 {
			return nil
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("waiting until Traefik serves only %s: %w (last: %s)", version, err, last)
		}
	}
}

// spread counts the service's running tasks per node.
func spread(ctx context.Context, s *lab.Swarm) ([]int, error) {
	tasks, err := s.Tasks(ctx, serviceName)
	if err != nil {
		return nil, err
	}
	counts := make([]int, len(s.Nodes))
	for _, t := range tasks {
		if i := s.NodeIndex(t.NodeID); i >= 0 && t.State == "running" {
			counts[i]++
		}
	}
	return counts, nil
}

// pause waits d unless ctx ends first; it is for the benchmark's
// measurement windows only.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
