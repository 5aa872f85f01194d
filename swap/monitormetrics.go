package swap

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// watchMetrics holds the new version, once it has all the traffic, to
// --max-error-rate and --max-p99 through the --monitor window (see
// MonitorJudge).
func (s *Swapper) watchMetrics(ctx context.Context, services []string, failing chan<- error) {
	MonitorJudge{Policy: s.cfg.Canary, Metrics: s.Metrics, Log: s.log, Window: s.cfg.Monitor, Baseline: s.baseline}.Watch(ctx, services, failing)
}

// MonitorJudge holds the new version, once it has all the traffic, to
// --max-error-rate and --max-p99 through the --monitor window: a release
// that answers 500 to real requests, or answers them slowly, while its
// HEALTHCHECK passes is rolled back like one that turns unhealthy. The
// one judge of the container swap's monitor and of the Swarm swap's
// (swap/swarm), as StepJudge is of their canary steps.
type MonitorJudge struct {
	Policy  CanaryPolicy
	Metrics Metrics
	Log     *slog.Logger
	// Window is the --monitor window, named in a breach's message.
	Window time.Duration
	// Baseline is the swap's first read of Traefik's metrics, before any
	// new task or container took traffic: the old version's figures from
	// it to the start of the watch are what a relative --max-p99 compares
	// with. nil when there is none.
	Baseline *traefik.Snapshot
}

// Watch reads Traefik's counters for the route's services every analysis
// interval from now on, and reports on failing, once, when the requests
// counted since are enough to judge (--min-requests) and over a limit. A
// relative --max-p99 (+50%) compares with the old version's p99 before
// now (see baselineStats). It returns when ctx ends or once it reported.
func (j MonitorJudge) Watch(ctx context.Context, services []string, failing chan<- error) {
	if j.Log == nil {
		j.Log = slog.New(slog.DiscardHandler)
	}
	pol := j.Policy
	before, err := j.Metrics.Snapshot(ctx)
	if err != nil {
		j.Log.Warn("could not read Traefik's metrics at the start of the monitor window; --max-error-rate and --max-p99 are not applied", "phase", PhaseMonitor.String(), "error", err)
		return
	}
	base := j.baselineStats(before, services)
	if pol.MaxP99Relative > 0 {
		if p99, ok := base.Quantile(0.99); ok {
			j.Log.Info("the old version's p99 before the flip", "phase", PhaseMonitor.String(), "p99", round(p99), "requests", int(base.Requests))
		} else {
			j.Log.Warn("no request reached the old version before the flip to compare its p99 with; a relative --max-p99 is not applied during --monitor", "phase", PhaseMonitor.String())
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
		now, err := j.Metrics.Snapshot(ctx)
		if err != nil {
			if ctx.Err() == nil {
				j.Log.Warn("could not read Traefik's metrics", "phase", PhaseMonitor.String(), "error", err)
			}
			continue
		}
		stats := sumWindow(before, now, services)
		if stats.Requests < float64(pol.MinRequests) {
			continue
		}
		if verdict, reason := pol.judge(100, stats, base); verdict == VerdictFail {
			failing <- fmt.Errorf("the new version's %s within the --monitor window of %s", reason, j.Window)
			return
		}
	}
}

// baselineStats are the old version's figures from the swap's first read
// of Traefik's metrics (before any new container took traffic) to now,
// the flip: through the route's services, or, after a canary, through its
// stable children, which alone carried the old version then.
func (j MonitorJudge) baselineStats(now traefik.Snapshot, services []string) traefik.ServiceStats {
	if j.Baseline == nil {
		return traefik.ServiceStats{}
	}
	var stable []string
	for _, name := range services {
		stable = append(stable, labels.StableChild(name))
	}
	if st := sumWindow(*j.Baseline, now, stable); st.Requests > 0 {
		return st
	}
	return sumWindow(*j.Baseline, now, services)
}

// monitorsMetrics says whether --monitor also judges the error rate or the
// latency.
func (s *Swapper) monitorsMetrics() bool {
	return s.cfg.Monitor > 0 && s.cfg.Canary.Judged() && s.Metrics != nil
}
