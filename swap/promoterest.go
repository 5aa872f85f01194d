package swap

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// promoteRest finishes the promotion of a canary that ran fewer new
// containers than the old version runs (--canary-replicas): the canary's
// containers take the place of as many old ones (the oldest), in a plain
// route with the old ones left, confirmed, those drained; then the old
// ones left are replaced in batches of --parallelism, as dswap up replaces
// replicas, by copies of a canary container. A failed batch is undone as
// in up: its old containers keep serving.
func (s *Swapper) promoteRest(ctx context.Context, p *plan, st *pausedState, news []*engine.Container, res *Result) error {
	req := Request{Image: news[0].Image, Service: p.svc.Ref(), SkipTasks: true}
	// Planned as a swap of the whole service to the canary's image, with
	// the newest container (a canary one) as the template: the rest copy
	// the canary's settings, its definition's labels included.
	rest, err := s.plan(ctx, req, p.svc, p.all)
	if err != nil {
		return err
	}
	retire := st.stable[:len(news)]
	keep := without(st.stable, retire)
	s.enter(PhaseFlip, "moving the canary's share to a plain route: the canary containers in place of as many old ones", "canary", strings.Join(containerNames(news), ","), "retired", strings.Join(containerNames(retire), ","))
	absent := []string{}
	for _, name := range p.routing.ServiceNames() {
		absent = append(absent, labels.StableChild(name), labels.CanaryChild(name))
	}
	serving := append(append([]*engine.Container{}, keep...), news...)
	flipped, err := s.route(ctx, p.svc, rest.routing, serving, absent)
	if err != nil {
		return s.rollback(ctx, p, news, s.undoCanary(ctx, p, err), routeChange{})
	}
	res.Flip = flipped.took
	s.weighed(100 * len(news) / len(serving))
	outs, err := s.drain(context.WithoutCancel(ctx), retire)
	res.Drained = append(res.Drained, outs...)
	if err != nil {
		return fmt.Errorf("traffic is on %s and %s, but stopping the old container failed: %w; remove it with `docker rm -f %s`", strings.Join(containerNames(news), ", "), strings.Join(containerNames(keep), ", "), err, strings.Join(containerNames(retire), " "))
	}
	rest.old, rest.serving, rest.done = keep, serving, [][]*engine.Container{news}
	s.log.Info("replacing the rest of the old containers", "phase", PhasePlan.String(), "left", len(keep), "batch", s.cfg.Update.Parallelism)
	started := time.Now()
	if err := s.rollout(ctx, rest, req, res); err != nil {
		return err
	}
	s.weighed(100)
	s.log.Info("the rest replaced", "phase", PhaseDone.String(), "took", round(time.Since(started)))
	s.enter(PhaseDone, "done: the canary was promoted")
	return nil
}
