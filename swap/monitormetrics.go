package swap

import (
	"context"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// watchMetrics holds the new version, once it has all the traffic, to
// --max-error-rate and --max-p99 through the --monitor window: a release
// that answers 500 to real requests, or answers them slowly, while its
// HEALTHCHECK passes is rolled back like one that turns unhealthy. It reads
// Traefik's counters for the service every analysis interval from the flip
// on, and reports once the requests counted since are enough to judge
// (--min-requests) and over a limit. A relative --max-p99 (+50%) compares
// with the old version's p99 before the flip (see baseline).
func (s *Swapper) watchMetrics(ctx context.Context, services []string, failing chan<- error) {
	pol := s.cfg.Canary
	before, err := s.Metrics.Snapshot(ctx)
	if err != nil {
		s.log.Warn("could not read Traefik's metrics at the start of the monitor window; --max-error-rate and --max-p99 are not applied", "phase", PhaseMonitor.String(), "error", err)
		return
	}
	base := s.baselineStats(before, services)
	if pol.MaxP99Relative > 0 {
		if p99, ok := base.Quantile(0.99); ok {
			s.log.Info("the old version's p99 before the flip", "phase", PhaseMonitor.String(), "p99", round(p99), "requests", int(base.Requests))
		} else {
			s.log.Warn("no request reached the old version before the flip to compare its p99 with; a relative --max-p99 is not applied during --monitor", "phase", PhaseMonitor.String())
		}
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
		if stats.Requests < float64(pol.MinRequests) {
			continue
		}
		if verdict, reason := pol.judge(100, stats, base); verdict == VerdictFail {
			failing <- fmt.Errorf("the new version's %s within the --monitor window of %s", reason, s.cfg.Monitor)
			return
		}
	}
}

// baselineStats are the old version's figures from the swap's first read
// of Traefik's metrics (before any new container took traffic) to now,
// the flip: through the route's services, or, after a canary, through its
// stable children, which alone carried the old version then.
func (s *Swapper) baselineStats(now traefik.Snapshot, services []string) traefik.ServiceStats {
	if s.baseline == nil {
		return traefik.ServiceStats{}
	}
	var stable []string
	for _, name := range services {
		stable = append(stable, labels.StableChild(name))
	}
	if st := sumWindow(*s.baseline, now, stable); st.Requests > 0 {
		return st
	}
	return sumWindow(*s.baseline, now, services)
}

// monitorsMetrics says whether --monitor also judges the error rate or the
// latency.
func (s *Swapper) monitorsMetrics() bool {
	return s.cfg.Monitor > 0 && s.cfg.Canary.Judged() && s.Metrics != nil
}
