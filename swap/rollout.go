package swap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// target is what a batch starts: containers copying like, running ref.
type target struct {
	ref   string
	image *engine.Image
	like  *engine.Container
	// def is set for the update itself, not for a rollback to the old
	// containers' settings.
	def *definition
	// spec, when set, is the new containers' spec, built once by planning
	// (see newSpec); else createBatch builds it.
	spec *engine.Spec
}

// rollout replaces the service's containers with new ones running
// req.Image, in batches of the update policy's parallelism, the way Swarm
// updates a service: each batch is started, waited on until healthy, put in
// the route while as many old containers are taken out (confirmed through
// Traefik), then those are drained. With start-first order the number of
// routed, healthy containers never drops below what ran before.
func (s *Swapper) rollout(ctx context.Context, p *plan, req Request, res *Result) error {
	pol := s.cfg.Update
	want := pol.Replicas
	if want == 0 {
		want = max(len(p.old), 1)
	}
	size := pol.Parallelism
	if size == 0 || size > want {
		size = want
	}
	t := p.target
	remaining := slices.Clone(p.old) // old containers not yet replaced, oldest first
	tolerated := int(pol.MaxFailureRatio * float64(want))
	failures := 0
	if len(p.old) > 1 || want > 1 {
		s.log.Info("rolling update", "phase", PhasePlan.String(), "from", len(p.old), "to", want, "batch", size, "order", pol.Order, "delay", pol.Delay, "on failure", pol.FailureAction)
	}
	for started := 0; started < want; {
		if started > 0 && pol.Delay > 0 {
			if err := s.pause(ctx, pol.Delay); err != nil {
				return s.afterFailure(ctx, p, err)
			}
		}
		count := min(size, want-started)
		if started == 0 && len(p.done) == 0 && s.cfg.Canary.Enabled() {
			// The first batch is the canary: --canary-replicas new
			// containers, judged before the rest roll in batches.
			count = min(max(s.cfg.Canary.Replicas, 1), want)
		}
		retire := remaining[:min(count, len(remaining))]
		p.postNow = started+count >= want // the post tasks run once, in the last batch
		news, err := s.batch(ctx, p, t, count, retire, res)
		p.postNow = false
		if err != nil {
			var failed *FailedError
			if errors.As(err, &failed) && failures+count <= tolerated && !errors.Is(err, context.Canceled) {
				failures += count
				s.log.Warn("batch failed; tolerated by the max failure ratio, its old containers stay", "phase", PhaseRollback.String(), "failed", failures, "tolerated", tolerated, "reason", failed.Reason)
				remaining = remaining[len(retire):]
				started += count
				continue
			}
			return s.afterFailure(ctx, p, err)
		}
		p.done = append(p.done, news)
		if p.paused {
			return nil // the canary stands, split; promote or abort go on
		}
		remaining = remaining[len(retire):]
		started += count
	}
	if len(remaining) > 0 {
		// Scaling down: the old containers left over leave the route and
		// are drained.
		if err := s.retire(ctx, p, remaining, res); err != nil {
			return err
		}
	}
	if failures > 0 {
		s.log.Warn("update finished with failures the max failure ratio allows", "phase", PhaseDone.String(), "failed", failures, "of", want)
	}
	return nil
}

// batch replaces retire with count new containers. On a failure before the
// new ones take traffic for good, it undoes itself: the route goes back,
// the new containers are removed, retire keeps serving.
func (s *Swapper) batch(ctx context.Context, p *plan, t target, count int, retire []*engine.Container, res *Result) ([]*engine.Container, error) {
	keep := without(p.serving, retire)
	stopFirst := s.cfg.Update.Order == "stop-first" && len(retire) > 0
	if stopFirst {
		// The old containers leave first: for containers that cannot run
		// twice (fixed host ports). Capacity drops for the batch.
		s.log.Warn("stop-first: the old container(s) leave before the new ones are ready; capacity drops meanwhile", "phase", PhaseFlip.String(), "containers", strings.Join(containerNames(retire), ","))
		if err := s.retire(ctx, p, retire, res); err != nil {
			return nil, err
		}
	}
	news, err := s.createBatch(ctx, p, t, count)
	if err != nil {
		return nil, err
	}
	for _, c := range news {
		res.New = append(res.New, c.Name)
	}
	events, errs, stop := s.subscribe(ctx, news, s.started)
	defer stop()
	s.enter(PhaseHealth, "starting and waiting for health", "containers", strings.Join(containerNames(news), ","))
	if err := s.startAll(ctx, news); err != nil {
		return nil, s.rollback(ctx, p, news, err, routeChange{})
	}
	probed, err := s.waitHealthy(ctx, events, errs, news, s.cfg)
	if err != nil {
		return nil, s.rollback(ctx, p, news, err, routeChange{})
	}
	stop()
	if res.Readiness == "" {
		res.Readiness = readiness(news[0].Healthcheck, s.cfg, probed)
		res.HealthyAfter = time.Since(s.started)
	}
	healthyAt := time.Now()

	// undo moves traffic back to the old containers and removes the new
	// ones. After a canary the file to put back is not the one the flip
	// replaced (the weighted route) but the old version alone.
	undo := func(err error, change routeChange) error {
		return s.rollback(ctx, p, news, err, change)
	}
	canaryRan := false
	if s.cfg.Canary.Enabled() && len(p.done) == 0 && len(retire) > 0 && !stopFirst {
		canaryRan = true
		// The first batch is the canary: part of the traffic, judged,
		// before the flip gives it all.
		undo = func(err error, _ routeChange) error {
			return s.rollback(ctx, p, news, s.undoCanary(ctx, p, err), routeChange{})
		}
		if err := s.canary(ctx, p, news, p.serving, res); err != nil {
			return nil, undo(err, routeChange{})
		}
		if p.paused {
			return news, nil
		}
	}
	s.enter(PhaseFlip, "moving Traefik's route to the new container(s)")
	flipped, err := s.flip(ctx, p, news, keep)
	if err != nil {
		return nil, undo(err, flipped)
	}
	if canaryRan {
		// The canary's flip: its share of the traffic is what its
		// containers are of the route now.
		s.weighed(100 * len(news) / (len(keep) + len(news)))
	}
	routedAfter := time.Since(healthyAt)
	if res.Flip == 0 {
		res.Flip = flipped.took
		res.RoutedAfterHealthy = routedAfter
	}
	s.log.Info("traffic on new", "phase", PhaseFlip.String(), "confirmed by", flipped.confirmedBy, "after healthy", round(routedAfter))

	if s.cfg.Monitor > 0 && len(retire) > 0 && !stopFirst {
		if err := s.monitor(ctx, news, healthyAt, p.routing.ServiceNames()); err != nil {
			return nil, undo(err, flipped)
		}
	}
	if p.postNow && len(p.post) > 0 {
		post := p.post
		p.post = nil
		if err := s.runTasks(ctx, p, PhasePost, post, res); err != nil {
			if s.cfg.Tasks.PostFailure == "rollback" && len(retire) > 0 && !stopFirst {
				return nil, s.rollback(ctx, p, news, err, flipped)
			}
			if s.cfg.Tasks.PostFailure == "rollback" {
				s.log.Warn("a post task failed, but no old container stands by to move traffic back to; the new version stays", "phase", PhasePost.String())
			}
			p.postErr = err
		}
	}
	p.serving = append(keep, news...)

	// From here the new containers serve. Stopping the old ones must
	// finish even if the user interrupts dswap, or the service would be
	// left with containers nobody drains.
	if !stopFirst && len(retire) > 0 {
		outs, err := s.drainOrLinger(context.WithoutCancel(ctx), p, retire, res)
		res.Drained = append(res.Drained, outs...)
		if err != nil {
			s.enter(PhaseFailed, "traffic is on the new version, but an old container was not removed")
			return news, fmt.Errorf("traffic is on %s, but stopping the old container failed: %w; remove it with `docker rm -f %s`", strings.Join(containerNames(news), ", "), err, strings.Join(containerNames(retire), " "))
		}
	}
	return news, nil
}

// retire takes containers out of the route (confirmed), then drains and
// removes them.
func (s *Swapper) retire(ctx context.Context, p *plan, cs []*engine.Container, res *Result) error {
	keep := without(p.serving, cs)
	s.enter(PhaseFlip, "taking container(s) out of the route", "containers", strings.Join(containerNames(cs), ","))
	if _, err := s.route(ctx, p.svc, p.routing, keep, nil); err != nil {
		return err
	}
	p.serving = keep
	outs, err := s.drain(context.WithoutCancel(ctx), cs)
	res.Drained = append(res.Drained, outs...)
	return err
}

// afterFailure applies the failure action to the batches done before a
// batch failed (that batch has already undone itself).
func (s *Swapper) afterFailure(ctx context.Context, p *plan, cause error) error {
	if len(p.done) == 0 {
		return cause
	}
	fe := asFailed(p, cause)
	if s.cfg.Update.FailureAction == "pause" {
		fe.Kept = describeKept(p) + "; the update is paused: run dswap up again to continue, or dswap rollback"
		s.enter(PhaseFailed, "update paused", "serving", strings.Join(containerNames(p.serving), ","))
		return fe
	}
	// Roll back the batches done, newest first, by the same zero-downtime
	// path, to containers like the ones they replaced.
	s.log.Warn("rolling back the batches already updated", "phase", PhaseRollback.String(), "batches", len(p.done))
	ctx = context.WithoutCancel(ctx)
	back := s.rollbackTarget(ctx, p)
	var rbErrs []error
	done := p.done
	p.done = nil
	for i := len(done) - 1; i >= 0; i-- {
		var discard Result
		if _, err := s.batch(ctx, p, back, len(done[i]), done[i], &discard); err != nil {
			rbErrs = append(rbErrs, err)
			break
		}
	}
	fe.RollbackErr = errors.Join(rbErrs...)
	fe.Kept = fmt.Sprintf("%s serve again: the %d batch(es) already updated were rolled back", describeServing(p), len(done))
	s.enter(PhaseFailed, "update failed; rolled back", "serving", strings.Join(containerNames(p.serving), ","))
	return fe
}

// rollbackTarget is what the old containers ran: their image (by its old
// reference if that still names it, else by ID) and their settings.
func (s *Swapper) rollbackTarget(ctx context.Context, p *plan) target {
	like := p.old[len(p.old)-1]
	ref := like.Image
	if img, err := s.Images.InspectImage(ctx, ref); err != nil || img.ID != like.ImageID {
		ref = like.ImageID // the tag moved on; the image itself is still here
	}
	return target{ref: ref, image: p.oldImages[like.ImageID], like: like}
}

func asFailed(p *plan, err error) *FailedError {
	var fe *FailedError
	if errors.As(err, &fe) {
		return fe
	}
	return &FailedError{Service: p.svc.Name, Phase: PhaseRollback, Reason: err}
}

// pause waits the policy's delay between batches: a wait the user asked
// for, not one an event could answer.
func (s *Swapper) pause(ctx context.Context, d time.Duration) error {
	s.log.Info("waiting between batches", "phase", PhasePlan.String(), "delay", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted between batches: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// without returns cs minus drop.
func without(cs, drop []*engine.Container) []*engine.Container {
	out := make([]*engine.Container, 0, len(cs))
	for _, c := range cs {
		if !slices.ContainsFunc(drop, func(d *engine.Container) bool { return d.ID == c.ID }) {
			out = append(out, c)
		}
	}
	return out
}
