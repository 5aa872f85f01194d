package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/timeline"
)

// dswapSwapper swaps with the real dswap binary, as a user would run it.
type dswapSwapper struct {
	l   *lab.Lab
	sc  Scenario
	st  Strategy
	bin string
	env []string
	// keeper is the dswap keep of a strategy with KeepConnections.
	keeper *exec.Cmd
}

func newDswapSwapper(l *lab.Lab, sc Scenario, st Strategy, bin string) *dswapSwapper {
	return &dswapSwapper{l: l, sc: sc, st: st, bin: bin, env: append(os.Environ(),
		"DSWAP_ROUTES_DIR="+l.RoutesDir, "DSWAP_TRAEFIK_API="+l.APIURL, "DSWAP_TRAEFIK_CONTAINER="+l.TraefikName)}
}

// start runs the first version with ordinary Traefik labels that the
// docker provider ignores (traefik.enable=false: dswap routes it) and lets
// dswap adopt it.
func (d *dswapSwapper) start(ctx context.Context, first image) error {
	id, err := d.l.RunApp(ctx, lab.App{Name: d.l.Prefix + "-" + serviceName, Image: first.Tag, Labels: map[string]string{
		"traefik.enable": "false",
		"traefik.http.routers." + serviceName + ".rule":                      "Host(`" + serviceHost + "`)",
		"traefik.http.services." + serviceName + ".loadbalancer.server.port": "8080",
		"dswap.service": serviceName,
		"dswap.drain":   Drain.String(),
	}})
	if err != nil {
		return err
	}
	if err := d.l.WaitHealthy(ctx, id, healthWait(d.sc)); err != nil {
		return err
	}
	run, err := runDswap(ctx, d.bin, d.env, false, "sync", serviceName, "--output", "json")
	if err != nil {
		return err
	}
	if run.ExitCode != 0 {
		return fmt.Errorf("dswap sync %s exited with code %d:\n%s", serviceName, run.ExitCode, tail(run.Stderr, 20))
	}
	if d.st.KeepConnections > 0 {
		return d.startKeeper(ctx)
	}
	return nil
}

// startKeeper runs dswap keep on the lab's routes directory, so that
// dswap up hands lingering containers over instead of waiting for them.
func (d *dswapSwapper) startKeeper(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, d.bin, "keep")
	cmd.Env = d.env
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting dswap keep: %w", err)
	}
	d.keeper = cmd
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "keeping routes") {
		if time.Now().After(deadline) {
			return fmt.Errorf("dswap keep did not start within 30s:\n%s", tail(stderr.String(), 20))
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// close stops the keeper, if one runs.
func (d *dswapSwapper) close() {
	if d.keeper != nil {
		_ = d.keeper.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = d.keeper.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = d.keeper.Process.Kill()
			<-done
		}
	}
}

func (d *dswapSwapper) swap(ctx context.Context, index int, from, to image) (Swap, error) {
	sw := Swap{Index: index, From: from.Version, To: to.Version}
	ctx, cancel := context.WithTimeout(ctx, swapTimeout(d.sc))
	defer cancel()
	args := []string{"up", to.Tag, "--service", serviceName, "--output", "json"}
	if d.st.KeepConnections > 0 {
		args = append(args, "--keep-connections", d.st.KeepConnections.String())
	}
	run, err := runDswap(ctx, d.bin, d.env, true, args...)
	if err != nil {
		return sw, err
	}
	sw.Start, sw.End = run.Start, run.End
	sw.HasUsage, sw.MaxRSS, sw.CPU = true, run.MaxRSS, run.CPU
	sw.Readiness = run.Result.Readiness
	sw.Marks, sw.HealthyAt = dswapMarks(run.Events)
	for _, m := range sw.Marks {
		if m.Name == "flipped" {
			sw.FlippedAt = m.At
		}
	}
	if run.ExitCode != 0 || run.Result.Result != "swapped" || len(run.Result.New) == 0 {
		sw.Err = fmt.Errorf("dswap up %s: exit code %d, result %q, failed in phase %q: %s", to.Tag, run.ExitCode, run.Result.Result, run.Result.Phase, firstLine(run.Result.Error))
		return sw, nil
	}
	sw.StartedAt, err = startedAt(ctx, d.l, run.Result.New[0])
	if err != nil {
		return sw, err
	}
	sw.ReadyAt = sw.StartedAt.Add(d.sc.ReadyAfter)
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "dswap up", At: sw.Start}, timeline.Mark{Name: "started", At: sw.StartedAt})
	if d.sc.ReadyAfter > 0 {
		sw.Marks = append(sw.Marks, timeline.Mark{Name: "app ready", At: sw.ReadyAt})
	}
	return sw, nil
}

// firstLine keeps error summaries on one table-friendly line.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// syncBuffer is a log written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
