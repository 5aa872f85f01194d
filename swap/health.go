package swap

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// healthDeadline is how long to wait for a container to turn healthy: long
// enough for Docker to declare it unhealthy by itself, so a timeout only
// happens when health checks hang.
func healthDeadline(h *engine.Healthcheck, cfg Config) time.Duration {
	if cfg.HealthTimeout > 0 {
		return cfg.HealthTimeout
	}
	if cfg.NoHealthcheck {
		return cfg.Settle
	}
	if h == nil {
		return time.Minute
	}
	return h.StartPeriod + time.Duration(h.Retries+1)*(h.Interval+h.Timeout) + 5*time.Second
}

// readiness says how the new containers' readiness was decided, for the
// output: the user must be able to tell a Docker verdict from dswap's own
// probe or from a mere settle time.
func readiness(h *engine.Healthcheck, cfg Config, probed bool) string {
	switch {
	case cfg.NoHealthcheck:
		return fmt.Sprintf("no health check: stayed up for --settle %s", cfg.Settle)
	case probed:
		from := "the container's HEALTHCHECK test"
		if cfg.HealthCmd != "" {
			from = "the HEALTHCHECK test from --health-cmd"
		}
		return fmt.Sprintf("dswap ran %s (%s) every %s during the start window and it passed", from, strings.Join(h.Test, " "), cfg.ProbeInterval)
	case cfg.HealthCmd != "":
		return fmt.Sprintf("Docker health status from --health-cmd %q", cfg.HealthCmd)
	default:
		return fmt.Sprintf("Docker health status (HEALTHCHECK %s every %s)", strings.Join(h.Test, " "), h.Interval)
	}
}

// probeCommand is the command that runs a HEALTHCHECK test inside the
// container, as Docker runs it; nil when the test cannot be run by exec.
func probeCommand(h *engine.Healthcheck) []string {
	if h == nil || len(h.Test) < 2 {
		return nil
	}
	switch h.Test[0] {
	case "CMD":
		return h.Test[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", h.Test[1]}
	}
	return nil
}

// readySignal says that a container is ready and how that was decided.
type readySignal struct {
	id     string
	probed bool
}

// waitHealthy waits until every new container is ready: Docker reports it
// healthy, or (sooner, with a long HEALTHCHECK interval) dswap's own run of
// the container's HEALTHCHECK test passes. With NoHealthcheck a container is
// ready once it stayed up for the settle time. It fails at once when one
// turns unhealthy or exits, and when the deadline passes. It reports
// whether the probe decided readiness.
func (s *Swapper) waitHealthy(ctx context.Context, events <-chan engine.Event, errs <-chan error, news []*engine.Container, cfg Config) (probed bool, err error) {
	pending := map[string]*engine.Container{}
	for _, c := range news {
		pending[c.ID] = c
	}
	deadline := healthDeadline(news[0].Healthcheck, cfg)
	timer := time.NewTimer(deadline)
	defer timer.Stop()

	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	ready := make(chan readySignal, len(news))
	if !cfg.NoHealthcheck && cfg.ProbeInterval > 0 {
		for _, c := range news {
			if cmd := probeCommand(c.Healthcheck); cmd != nil {
				go s.probe(probeCtx, c, cmd, cfg.ProbeInterval, true, func(passed bool, _ string) bool {
					if passed {
						ready <- readySignal{id: c.ID, probed: true}
					}
					return passed
				})
			}
		}
	}

	markReady := func(id string, byProbe bool) {
		c, ok := pending[id]
		if !ok {
			return
		}
		how := "Docker health status"
		if byProbe {
			how = "HEALTHCHECK test run by dswap"
			probed = true
		}
		s.log.Info("healthy", "phase", PhaseHealth.String(), "container", c.Name, "after", round(time.Since(s.started)), "decided by", how)
		delete(pending, id)
	}
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return probed, fmt.Errorf("waiting for health: %w", ctx.Err())
		case err := <-errs:
			return probed, err
		case r := <-ready:
			markReady(r.id, r.probed)
		case ev, ok := <-events:
			if !ok {
				return probed, fmt.Errorf("the Docker event stream ended while waiting for health")
			}
			c, mine := pending[ev.ContainerID]
			if !mine {
				continue
			}
			switch {
			case ev.Action == "die":
				return probed, fmt.Errorf("new container %s exited (code %s) before it was healthy", c.Name, ev.Attributes["exitCode"])
			case ev.Health() == "unhealthy":
				return probed, fmt.Errorf("new container %s is unhealthy", c.Name)
			case ev.Health() == "healthy" && !cfg.NoHealthcheck:
				markReady(c.ID, false)
			}
		case <-timer.C:
			if cfg.NoHealthcheck {
				return false, s.checkStillRunning(ctx, pending)
			}
			var names []string
			for _, c := range pending {
				names = append(names, c.Name)
			}
			sort.Strings(names)
			return probed, fmt.Errorf("new container %s was not healthy after %s (pass --health-timeout to wait longer)", strings.Join(names, ", "), deadline)
		}
	}
	return probed, nil
}

// probe runs c's HEALTHCHECK test by exec every interval (the first time
// at once when atOnce) and hands each outcome to judge, until judge says it
// has seen enough or ctx ends. It is dswap's one prober: while starting it
// tells readiness sooner than Docker, whose first check comes only after a
// whole interval (30 s by default); while monitoring it tells a failing
// version sooner than Docker's retries x interval.
func (s *Swapper) probe(ctx context.Context, c *engine.Container, cmd []string, interval time.Duration, atOnce bool, judge func(passed bool, output string) (done bool)) {
	timeout := probeTimeout(c.Healthcheck)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for wait := !atOnce; ; wait = true {
		if wait {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
		execCtx, cancel := context.WithTimeout(ctx, timeout)
		res, err := s.Docker.Exec(execCtx, c.ID, cmd)
		cancel()
		if ctx.Err() != nil {
			return
		}
		output := res.Output
		if err != nil {
			output = err.Error()
		}
		if judge(err == nil && res.ExitCode == 0, output) {
			return
		}
	}
}

// probeTimeout bounds one run of the test: the HEALTHCHECK's own timeout
// (Docker's default of 30 s when it sets none), at most 5 s so that a hung
// test holds nothing up for long, and at least 1 s, which covers the exec
// itself on a busy machine: a test Docker would pass must not fail here
// for dswap's own overhead, least of all while monitoring, where failures
// take traffic away.
func probeTimeout(h *engine.Healthcheck) time.Duration {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return min(max(timeout, time.Second), 5*time.Second)
}

// checkStillRunning confirms, at the end of the settle time, that the
// containers are up: the event stream said nothing, the state must agree.
func (s *Swapper) checkStillRunning(ctx context.Context, pending map[string]*engine.Container) error {
	for id, c := range pending {
		now, err := s.Docker.Inspect(ctx, id)
		if err != nil {
			return err
		}
		if !now.State.Running {
			return fmt.Errorf("new container %s is %s (exit code %d) after the settle time", c.Name, now.State.Status, now.State.ExitCode)
		}
		s.log.Info("settled", "phase", PhaseHealth.String(), "container", c.Name, "up for", s.cfg.Settle)
	}
	return nil
}

func round(d time.Duration) time.Duration {
	return d.Round(time.Millisecond)
}

// subscribe listens to the new containers' events from before they start,
// so no health or exit event can be missed.
func (s *Swapper) subscribe(ctx context.Context, news []*engine.Container, since time.Time) (<-chan engine.Event, <-chan error, func()) {
	ctx, cancel := context.WithCancel(ctx)
	f := engine.EventFilter{Since: since.Add(-time.Second)}
	for _, c := range news {
		f.Containers = append(f.Containers, c.ID)
	}
	events, errs := s.Docker.Events(ctx, f)
	return events, errs, cancel
}
