package swap

import (
	"context"
	"fmt"
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

// readiness says how a container's readiness was decided, for the output.
func readiness(h *engine.Healthcheck, cfg Config) string {
	switch {
	case cfg.NoHealthcheck:
		return fmt.Sprintf("no health check: stayed up for --settle %s", cfg.Settle)
	case cfg.HealthCmd != "":
		return fmt.Sprintf("Docker health status from --health-cmd %q", cfg.HealthCmd)
	default:
		return fmt.Sprintf("Docker health status (HEALTHCHECK %s every %s)", strings.Join(h.Test, " "), h.Interval)
	}
}

// waitHealthy waits until every container in pending is healthy (or, with
// NoHealthcheck, has stayed up for the settle time). It fails at once when
// one turns unhealthy or exits, and when the deadline passes.
func (s *Swapper) waitHealthy(ctx context.Context, events <-chan engine.Event, errs <-chan error, news []*engine.Container, cfg Config) error {
	pending := map[string]*engine.Container{}
	for _, c := range news {
		pending[c.ID] = c
	}
	deadline := healthDeadline(news[0].Healthcheck, cfg)
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for health: %w", ctx.Err())
		case err := <-errs:
			return err
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("the Docker event stream ended while waiting for health")
			}
			c, mine := pending[ev.ContainerID]
			if !mine {
				continue
			}
			switch {
			case ev.Action == "die":
				return fmt.Errorf("new container %s exited (code %s) before it was healthy", c.Name, ev.Attributes["exitCode"])
			case ev.Health() == "unhealthy":
				return fmt.Errorf("new container %s is unhealthy", c.Name)
			case ev.Health() == "healthy" && !cfg.NoHealthcheck:
				s.log.Info("healthy", "phase", PhaseHealth.String(), "container", c.Name, "after", round(time.Since(s.started)))
				delete(pending, c.ID)
			}
		case <-timer.C:
			if cfg.NoHealthcheck {
				return s.checkStillRunning(ctx, pending)
			}
			var names []string
			for _, c := range pending {
				names = append(names, c.Name)
			}
			return fmt.Errorf("new container %s was not healthy after %s (pass --health-timeout to wait longer)", strings.Join(names, ", "), deadline)
		}
	}
	return nil
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
		s.log.Info("settled", "container", c.Name, "up for", s.cfg.Settle)
	}
	return nil
}

func round(d time.Duration) time.Duration {
	return d.Round(time.Millisecond)
}
