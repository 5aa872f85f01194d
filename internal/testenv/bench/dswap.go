package bench

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/timeline"
)

// dswapSwapper swaps with the real dswap binary, as a user would run it.
type dswapSwapper struct {
	l   *lab.Lab
	sc  Scenario
	bin string
	env []string
}

func newDswapSwapper(l *lab.Lab, sc Scenario, bin string) *dswapSwapper {
	return &dswapSwapper{l: l, sc: sc, bin: bin, env: append(os.Environ(),
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
	return nil
}

func (d *dswapSwapper) swap(ctx context.Context, index int, from, to image) (Swap, error) {
	sw := Swap{Index: index, From: from.Version, To: to.Version}
	ctx, cancel := context.WithTimeout(ctx, swapTimeout(d.sc))
	defer cancel()
	run, err := runDswap(ctx, d.bin, d.env, true, "up", to.Tag, "--service", serviceName, "--output", "json")
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
