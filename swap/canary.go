package swap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// Metrics reads Traefik's per-service counters (its Prometheus endpoint).
type Metrics interface {
	Snapshot(ctx context.Context) (traefik.Snapshot, error)
}

// analysisInterval is how often a step's metrics are read: a canary over
// its error limit is taken out within about this long once it has the
// requests to judge.
const analysisInterval = time.Second

// ErrCanaryFailed marks a swap whose canary was judged bad and undone.
var ErrCanaryFailed = errors.New("canary failed")

// canaryError is a failed step, with its figures.
type canaryError struct{ reason string }

func (e *canaryError) Error() string { return e.reason }
func (e *canaryError) Unwrap() error { return ErrCanaryFailed }

// checkCanary refuses, before anything starts, a canary judged on metrics
// that dswap cannot read.
func (s *Swapper) checkCanary(ctx context.Context, p *plan) error {
	pol := s.cfg.Canary
	if !pol.Enabled() && s.cfg.Monitor > 0 && pol.Judged() && len(p.old) > 0 {
		// --monitor with --max-error-rate or --max-p99 judges the new
		// version on the same metrics after the flip.
		pol.Weights = []int{100}
	}
	if !pol.Enabled() {
		return nil
	}
	if len(p.old) == 0 {
		return badInput("--canary needs a running version to compare with; %s runs nothing yet: start it without --canary", p.svc.Name)
	}
	if !pol.Judged() {
		return nil
	}
	first, err := ReadCanaryMetrics(ctx, s.Metrics)
	if err != nil {
		return err
	}
	// The old version's figures from now to the flip are what a relative
	// --max-p99 compares with during --monitor.
	s.baseline = first
	return nil
}

// ReadCanaryMetrics reads Traefik's metrics once, before anything starts,
// for a canary judged on them: an error (bad input) says how to make them
// readable.
func ReadCanaryMetrics(ctx context.Context, m Metrics) (*traefik.Snapshot, error) {
	const flags = "start Traefik with --metrics.prometheus=true and --metrics.prometheus.addServicesLabels=true"
	if m == nil {
		return nil, badInput("--max-error-rate and --max-p99 judge the canary on Traefik's metrics, and dswap does not know where to read them: %s, and give dswap its API (--traefik-api) or the metrics' URL (--traefik-metrics)", flags)
	}
	first, err := m.Snapshot(ctx)
	if err != nil {
		return nil, badInput("--max-error-rate and --max-p99 judge the canary on Traefik's metrics, which cannot be read (%v): %s, or point --traefik-metrics at them; nothing was changed", err, flags)
	}
	return &first, nil
}

// canary moves part of the traffic to news, step by step, through a
// weighted route (news as the canary child, stable as the stable child),
// and judges every step on Traefik's metrics. It returns once the last
// step passed, with the weighted route still in place: the caller's flip
// then gives the new version all of it. On a failure the route is left as
// it is; the caller puts the stable version back.
func (s *Swapper) canary(ctx context.Context, p *plan, news, stable []*engine.Container, res *Result) error {
	pol := s.cfg.Canary
	fresh := make([]*engine.Container, 0, len(news))
	for _, c := range news {
		now, err := s.Docker.Inspect(ctx, c.ID)
		if err != nil {
			return err
		}
		fresh = append(fresh, now)
	}
	routing, err := s.decodeRouting(fresh[0].Labels, p.svc.Name, fresh[0].ExposedPorts)
	if err != nil {
		return asBadInput(fmt.Errorf("new container %s: %w", fresh[0].Name, err))
	}
	var sp labels.Split
	if sp.Stable, err = s.targets(ctx, stable); err != nil {
		return err
	}
	if sp.Canary, err = s.targets(ctx, fresh); err != nil {
		return err
	}
	sp.Sticky = pol.Sticky
	stableNames, canaryNames := routing.ChildNames()
	for i, weight := range pol.Weights {
		sp.CanaryWeight = weight
		last := i == len(pol.Weights)-1
		s.enter(PhaseCanary, fmt.Sprintf("canary step %d of %d: %d%% of the traffic on the new version", i+1, len(pol.Weights), weight), "for", pol.Step)
		content, err := routing.WeightedFile(p.svc.Ref(), sp)
		if err != nil {
			return err
		}
		if last && pol.Pause {
			// The last weight of a paused canary is written with the
			// line that tells the keeper and later swaps to leave it.
			content = labels.MarkPaused(content, p.canaryWeights(pol), pol.Sticky)
		}
		exp := traefik.Expectation{Servers: routing.WeightedServerURLs(sp), Routers: routing.RouterNames()}
		w, err := s.commitRoute(ctx, p.svc.Key(), content, exp)
		if err != nil {
			return fmt.Errorf("moving %d%% of the traffic to the new version: %w", weight, err)
		}
		s.weighed(weight)
		p.canaryServed = true
		s.log.Info("weights applied", "phase", PhaseCanary.String(), "canary", fmt.Sprintf("%d%%", weight), "stable", fmt.Sprintf("%d%%", 100-weight), "took", round(w.took))
		if last && pol.Pause {
			p.paused = true
			res.Canary = append(res.Canary, CanaryStep{Weight: weight, Verdict: "paused", Reason: fmt.Sprintf("paused at %d%%: dswap promote %s goes on, dswap abort %s goes back", weight, p.svc.Ref(), p.svc.Ref())})
			return nil
		}
		step, err := s.runStep(ctx, weight, stableNames, canaryNames)
		if step != nil {
			res.Canary = append(res.Canary, *step)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runStep holds one weight for the step's length and judges it (see
// StepJudge.Run).
func (s *Swapper) runStep(ctx context.Context, weight int, stableNames, canaryNames []string) (*CanaryStep, error) {
	return StepJudge{Policy: s.cfg.Canary, Metrics: s.Metrics, Log: s.log}.Run(ctx, weight, stableNames, canaryNames)
}

// StepJudge holds a canary's steps and judges them on Traefik's metrics:
// the one gate of the container swap and of the Swarm swap (swap/swarm).
type StepJudge struct {
	Policy  CanaryPolicy
	Metrics Metrics
	Log     *slog.Logger
}

// Run holds one weight for the step's length and judges it on the child
// services' counters (stableNames, canaryNames, as in the route file).
// Without limits it only waits. A step short of requests is extended up
// to maxExtension times its length, then fails. A failed step's error
// wraps ErrCanaryFailed.
func (j StepJudge) Run(ctx context.Context, weight int, stableNames, canaryNames []string) (*CanaryStep, error) {
	pol := j.Policy
	if j.Log == nil {
		j.Log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	end, limit := start.Add(pol.Step), start.Add(maxExtension*pol.Step)
	if !pol.Judged() {
		t := time.NewTimer(pol.Step)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("interrupted during the %d%% canary step: %w", weight, ctx.Err())
		case <-t.C:
		}
		step := &CanaryStep{Weight: weight, Took: time.Since(start), Verdict: "pass", Reason: fmt.Sprintf("held %d%% for %s (no limits to judge)", weight, pol.Step)}
		j.logStep(ctx, step)
		return step, nil
	}
	before, err := j.Metrics.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading Traefik's metrics at the start of the %d%% step: %w", weight, err)
	}
	ticker := time.NewTicker(analysisInterval)
	defer ticker.Stop()
	extended := false
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("interrupted during the %d%% canary step: %w", weight, ctx.Err())
		case <-ticker.C:
		}
		now, err := j.Metrics.Snapshot(ctx)
		if err != nil {
			// One unreadable scrape is not a verdict; the step's end is.
			j.Log.Warn("could not read Traefik's metrics", "phase", PhaseCanary.String(), "error", err)
			if time.Now().Before(limit) {
				continue
			}
			return nil, fmt.Errorf("judging the %d%% canary step: %w", weight, err)
		}
		canary, stable := sumWindow(before, now, canaryNames), sumWindow(before, now, stableNames)
		verdict, reason := pol.judge(weight, canary, stable)
		step := &CanaryStep{Weight: weight, Took: time.Since(start), Requests: int(canary.Requests), Errors: int(canary.Errors), Reason: reason}
		if p99, ok := canary.Quantile(0.99); ok {
			step.P99 = round(p99).String()
		}
		if p99, ok := stable.Quantile(0.99); ok {
			step.StableP99 = round(p99).String()
		}
		switch {
		case verdict == VerdictFail:
			// Read every analysis interval, as Flagger and Argo Rollouts
			// do: a canary over a limit on enough requests to judge is
			// taken out at once; waiting for the end of the step would
			// only hurt more users.
			step.Verdict = "fail"
			j.logStep(ctx, step)
			return step, &canaryError{reason: reason}
		case time.Now().Before(end):
			continue
		case verdict == VerdictPass:
			step.Verdict = "pass"
			j.logStep(ctx, step)
			return step, nil
		case time.Now().Before(limit):
			if !extended {
				extended = true
				j.Log.Warn("extending the step: too few requests to judge", "phase", PhaseCanary.String(), "reason", reason, "up to", round(limit.Sub(start)))
			}
		case pol.WarnTooFew:
			step.Verdict = "pass"
			step.Warning = fmt.Sprintf("%s after %s (the step extended %d times its length): passed unjudged, as --too-few-requests warn asks", reason, round(step.Took), maxExtension)
			j.logStep(ctx, step)
			return step, nil
		default:
			step.Verdict = "fail"
			reason = fmt.Sprintf("%s after %s (the step extended %d times its length): too little traffic to judge the new version; lower --min-requests, lengthen --step, raise the weights, or pass such a step with --too-few-requests warn", reason, round(step.Took), maxExtension)
			step.Reason = reason
			j.logStep(ctx, step)
			return step, &canaryError{reason: reason}
		}
	}
}

// logStep writes a step's verdict as one event with its figures as
// attributes (weight, verdict, requests, errors, error_rate, p99,
// stable_p99, took, reason, warning): a line of the progress output, an
// object of --output json and of the sidecar's event stream.
func (j StepJudge) logStep(ctx context.Context, step *CanaryStep) {
	level, msg := slog.LevelInfo, "canary step passed"
	switch {
	case step.Verdict == "fail":
		level, msg = slog.LevelWarn, "canary step failed"
	case step.Warning != "":
		level, msg = slog.LevelWarn, "canary step passed without enough requests to judge it"
	}
	attrs := []any{"phase", PhaseCanary.String(), "weight", step.Weight, "verdict", step.Verdict, "requests", step.Requests, "errors", step.Errors}
	if step.Requests > 0 {
		attrs = append(attrs, "error_rate", math.Round(float64(step.Errors)/float64(step.Requests)*1e4)/1e4)
	}
	if step.P99 != "" {
		attrs = append(attrs, "p99", step.P99)
	}
	if step.StableP99 != "" {
		attrs = append(attrs, "stable_p99", step.StableP99)
	}
	attrs = append(attrs, "took", round(step.Took), "reason", step.Reason)
	if step.Warning != "" {
		attrs = append(attrs, "warning", step.Warning)
	}
	j.Log.Log(context.WithoutCancel(ctx), level, msg, attrs...)
}

// sumWindow adds up the named services' counters between two snapshots.
func sumWindow(before, after traefik.Snapshot, names []string) traefik.ServiceStats {
	var sum traefik.ServiceStats
	for _, name := range names {
		w := traefik.Window(before, after, name+"@file")
		sum.Requests += w.Requests
		sum.Errors += w.Errors
		sum.Buckets = addBuckets(sum.Buckets, w.Buckets)
	}
	return sum
}

// addBuckets adds two cumulative histograms with the same bounds (Traefik
// uses one set of bounds for every service).
func addBuckets(a, b []traefik.Bucket) []traefik.Bucket {
	if len(a) == 0 {
		return b
	}
	out := make([]traefik.Bucket, len(a))
	copy(out, a)
	for i := range out {
		if i < len(b) && b[i].UpperBound == out[i].UpperBound {
			out[i].Count += b[i].Count
		}
	}
	return out
}

// undoCanary puts the route back on the stable containers only, confirmed
// (the canary's weight drops to nothing and both children leave Traefik),
// even if ctx was cancelled.
func (s *Swapper) undoCanary(ctx context.Context, p *plan, cause error) error {
	ctx = context.WithoutCancel(ctx)
	s.enter(PhaseRollback, "taking the canary out: all the traffic back on the old version", "reason", cause)
	var absent []string
	for _, name := range p.routing.ServiceNames() {
		absent = append(absent, labels.StableChild(name), labels.CanaryChild(name))
	}
	if _, err := s.route(ctx, p.svc, p.routing, p.serving, absent); err != nil {
		return fmt.Errorf("%w; putting all the traffic back on %s failed too: %w", cause, strings.Join(containerNames(p.serving), ", "), err)
	}
	s.weighed(0)
	return cause
}
