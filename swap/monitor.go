package swap

import (
	"context"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// monitor watches the new containers after the flip while the old ones
// stand by: if a new one dies or turns unhealthy within the window, the
// caller moves traffic back. The window is counted from when the new
// containers were ready. Interrupting dswap ends the watch early and the
// swap finishes.
//
// services are the route's Traefik services: with --max-error-rate their
// error rate is judged too (see monitormetrics.go).
func (s *Swapper) monitor(ctx context.Context, news []*engine.Container, readyAt time.Time, services []string) error {
	s.enter(PhaseMonitor, "watching the new container(s); the old ones stand by", "for", s.cfg.Monitor)
	events, errs, stop := s.subscribe(ctx, news, readyAt)
	defer stop()
	byID := map[string]*engine.Container{}
	for _, c := range news {
		byID[c.ID] = c
	}
	window := time.NewTimer(time.Until(readyAt.Add(s.cfg.Monitor)))
	defer window.Stop()
	// Docker needs retries x interval to call a container unhealthy; dswap
	// runs the same test itself on a short interval so that a version that
	// goes bad is taken out of traffic while it still answers.
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	failing := make(chan error, len(news)+1)
	if s.monitorsMetrics() {
		go s.watchMetrics(probeCtx, services, failing)
	}
	if s.cfg.ProbeInterval > 0 {
		for _, c := range news {
			if cmd := probeCommand(c.Healthcheck); cmd != nil {
				go s.watchHealth(probeCtx, c, cmd, failing)
			}
		}
	}
	for {
		select {
		case err := <-failing:
			return err
		case <-ctx.Done():
			s.log.Warn("interrupted while monitoring; traffic stays on the new version and the swap finishes", "phase", PhaseMonitor.String())
			return nil
		case <-window.C:
			s.log.Info("the new container(s) stayed healthy through the monitor window", "phase", PhaseMonitor.String())
			return nil
		case err := <-errs:
			return fmt.Errorf("watching the new container(s) after the flip: %w", err)
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("the Docker event stream ended while monitoring")
			}
			c := byID[ev.ContainerID]
			switch {
			case c == nil:
			case ev.Action == "die":
				return fmt.Errorf("new container %s exited (code %s) %s after it was ready, within the --monitor window of %s", c.Name, ev.Attributes["exitCode"], round(ev.Time.Sub(readyAt)), s.cfg.Monitor)
			case ev.Health() == "unhealthy":
				return fmt.Errorf("new container %s turned unhealthy %s after it was ready, within the --monitor window of %s", c.Name, round(ev.Time.Sub(readyAt)), s.cfg.Monitor)
			}
		}
	}
}

// watchHealth runs c's HEALTHCHECK test every probe interval and reports
// once it has failed as many times in a row as the HEALTHCHECK's retries.
func (s *Swapper) watchHealth(ctx context.Context, c *engine.Container, cmd []string, failing chan<- error) {
	streak := 0
	s.probe(ctx, c, cmd, s.cfg.ProbeInterval, false, func(passed bool, output string) bool {
		if passed {
			streak = 0
			return false
		}
		streak++
		if streak < c.Healthcheck.Retries {
			return false
		}
		failing <- fmt.Errorf("new container %s failed its HEALTHCHECK test %d times in a row within the --monitor window of %s: %s", c.Name, streak, s.cfg.Monitor, oneLine(output))
		return true
	})
}
