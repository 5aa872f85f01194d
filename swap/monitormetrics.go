package swap

import (
	"context"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/traefik"
)

// watchErrorRate holds the new version, once it has all the traffic, to
// --max-error-rate through the --monitor window: a release that answers
// 500 to real requests while its HEALTHCHECK passes is rolled back like one
// that turns unhealthy. It reads Traefik's counters for the service every
// analysis interval from the flip on, and reports once the requests
// counted since are enough to judge (--min-requests) and over the limit.
func (s *Swapper) watchErrorRate(ctx context.Context, services []string, failing chan<- error) {
	pol := s.cfg.Canary
	before, err := s.Metrics.Snapshot(ctx)
	if err != nil {
		s.log.Warn("could not read Traefik's metrics at the start of the monitor window; --max-error-rate is not applied", "phase", PhaseMonitor.String(), "error", err)
		return
	}
	ticker := time.NewTicker(analysisInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now, err := s.Metrics.Snapshot(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("could not read Traefik's metrics", "phase", PhaseMonitor.String(), "error", err)
			}
			continue
		}
		stats := sumWindow(before, now, services)
		if pol.failsEarly(stats) {
			_, reason := pol.judge(100, stats, traefik.ServiceStats{})
			failing <- fmt.Errorf("the new version's %s within the --monitor window of %s", reason, s.cfg.Monitor)
			return
		}
	}
}

// monitorsErrors says whether --monitor also judges the error rate.
func (s *Swapper) monitorsErrors() bool {
	return s.cfg.Monitor > 0 && s.cfg.Canary.MaxErrorRate > 0 && s.Metrics != nil
}
