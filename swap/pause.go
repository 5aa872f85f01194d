package swap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
)

// A paused canary (dswap up --canary 10% --pause) is a swap stopped at its
// last weight: the route file holds the weighted route with its paused line
// (labels.MarkPaused), the old containers serve the stable child and the
// new ones the canary child. Nothing else records it: it survives dswap's
// exit, a crash and Traefik's restarts because the route file and the
// containers do. Three things read it:
//
//   - Inspect counts both children as routed, so a paused canary is not
//     the damage of an interrupted swap, and no repair takes it apart;
//   - the keeper's Reconcile leaves the service alone (UpkeepPaused);
//   - up, sync and rollback refuse the service until promote (the next
//     steps, then the full flip and the drain of the old version) or abort
//     (all the traffic back on the old version, the canary drained and
//     removed) ends the pause. All of them take the service's lock.
//
// A canary whose dswap was killed during a step has no paused line: it is
// an interrupted swap, and the next command (or the keeper) undoes it.

// canaryWeights are the steps to record in a paused canary's file: those
// it was started with, so that promote knows the ones still to come.
func (p *plan) canaryWeights(pol CanaryPolicy) []int {
	if len(p.allWeights) > 0 {
		return p.allWeights
	}
	return pol.Weights
}

// pausedCanary reads the service's route file; ok is false unless it
// records a paused canary.
func (s *Swapper) pausedCanary(svc *Service) (pc labels.PausedCanary, content []byte, ok bool, err error) {
	content, exists, err := s.Routes.Read(svc.Key())
	if err != nil || !exists {
		return pc, nil, false, err
	}
	pc, ok = labels.ReadPaused(content)
	return pc, content, ok, nil
}

// refusePaused stops a command that would replace or reroute a service
// whose canary is paused: only promote and abort end a pause.
func (s *Swapper) refusePaused(svc *Service) error {
	pc, _, ok, err := s.pausedCanary(svc)
	if err != nil || !ok {
		return err
	}
	return badInput("service %s has a paused canary (%d%% of the traffic on the new version); nothing was changed: finish it first with dswap promote %s (the new version takes all the traffic) or dswap abort %s (back to the old version)", svc.Ref(), pc.Weight, svc.Ref(), svc.Ref())
}

// pausedState is a paused canary as found under the service's lock.
type pausedState struct {
	paused         labels.PausedCanary
	stable, canary []*engine.Container
	release        func()
}

// lockPaused takes the service's lock and finds its paused canary: which
// running containers serve the stable child and which the canary one.
func (s *Swapper) lockPaused(ctx context.Context, service string) (*plan, *pausedState, error) {
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, nil, err
	}
	svc, err := s.findService(all, service, "")
	if err != nil {
		return nil, nil, err
	}
	st := &pausedState{release: func() {}}
	if s.Locks != nil {
		if st.release, err = s.Locks.Lock(ctx, svc.Key(), s.LockWait); err != nil {
			return nil, nil, err
		}
		if all, err = s.Docker.List(ctx, engine.ListFilter{All: true}); err == nil {
			svc, err = s.findService(all, service, "")
		}
		if err != nil {
			st.release()
			return nil, nil, err
		}
	}
	p, err := s.findPaused(ctx, svc, all, st)
	if err != nil {
		st.release()
		return nil, nil, err
	}
	return p, st, nil
}

func (s *Swapper) findPaused(ctx context.Context, svc *Service, all []*engine.Container, st *pausedState) (*plan, error) {
	pc, content, ok, err := s.pausedCanary(svc)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badInput("service %s has no paused canary (its route file %s records none); dswap promote and dswap abort finish a canary started with dswap up IMAGE --canary 10%% --pause", svc.Ref(), s.Routes.FileFor(svc.Key()))
	}
	st.paused = pc
	rf, err := labels.ReadRouteFile(content)
	if err != nil {
		return nil, fmt.Errorf("route file %s: %w", s.Routes.FileFor(svc.Key()), err)
	}
	stableHosts, _ := rf.StableHosts()
	canaryFile := &labels.RouteFile{Servers: map[string][]string{}}
	for name, urls := range rf.Servers {
		if strings.HasSuffix(name, "-canary") {
			canaryFile.Servers[name] = urls
		}
	}
	canaryHosts := canaryFile.Hosts()
	for _, c := range svc.Running {
		if _, ok := s.Addressing.Routes(c, canaryHosts); ok {
			st.canary = append(st.canary, c)
		} else if _, ok := s.Addressing.Routes(c, stableHosts); ok {
			st.stable = append(st.stable, c)
		}
	}
	if len(st.stable) == 0 {
		return nil, badInput("the old version's containers of service %s's paused canary are gone (the route's stable child names %s, and none of them runs); nothing was changed: dswap promote needs them to stand by, and dswap abort to take the traffic back: start the old version again, or run dswap sync %s to route what runs", svc.Ref(), strings.Join(stableHosts, ", "), svc.Ref())
	}
	var settings labels.Settings
	if settings, err = labels.DecodeSettings(st.stable[len(st.stable)-1].Labels); err != nil {
		return nil, asBadInput(fmt.Errorf("container %s: %w", st.stable[len(st.stable)-1].Name, err))
	}
	if s.cfg, err = Layer(s.overrides, settings); err != nil {
		return nil, err
	}
	source := st.stable[len(st.stable)-1]
	routing, err := s.decodeRouting(source.Labels, svc.Name, source.ExposedPorts)
	if err != nil {
		return nil, asBadInput(fmt.Errorf("service %s (container %s): %w", svc.Name, source.Name, err))
	}
	p := &plan{svc: svc, all: all, old: st.stable, serving: st.stable, routing: routing, fromImage: source.Image, swapID: newSwapID(), oldImages: map[string]*engine.Image{}, allWeights: pc.Weights, canaryServed: true}
	return p, nil
}

// Promote goes on with a paused canary: the steps after its weight (from
// --canary if given, else those it was started with), judged as in up, then
// the full flip to the new version, --monitor if set, and the drain of the
// old containers. A failed step or monitor puts all the traffic back on the
// old version and removes the new containers, as in up.
func (s *Swapper) Promote(ctx context.Context, service string, over Overrides) (res *Result, err error) {
	s.started = time.Now()
	s.overrides = over
	s.enter(PhasePlan, "promoting the paused canary", "service", service)
	p, st, err := s.lockPaused(ctx, service)
	if err != nil {
		return nil, err
	}
	defer st.release()
	if len(st.canary) == 0 {
		return nil, badInput("the new version's containers of service %s's paused canary are gone; nothing was changed: dswap abort %s puts all the traffic back on the old version", p.svc.Ref(), p.svc.Ref())
	}
	news := st.canary
	res = &Result{Service: p.svc.Name, FromImage: p.fromImage, ToImage: news[0].Image, Old: containerNames(st.stable), New: containerNames(news)}
	if p.image, err = s.Images.InspectImage(ctx, news[0].ImageID); err != nil {
		return res, fmt.Errorf("inspecting the canary's image %s: %w", news[0].Image, err)
	}
	req := Request{Image: news[0].Image, Service: p.svc.Ref(), Overrides: over}
	defer func() { s.record(p, req, res, err) }()

	pol := &s.cfg.Canary
	if !pol.Enabled() {
		pol.Weights = st.paused.Weights
	}
	pol.Weights = slices.DeleteFunc(slices.Clone(pol.Weights), func(w int) bool { return w <= st.paused.Weight })
	pol.Pause = false
	pol.Sticky = pol.Sticky || st.paused.Sticky
	if pol.Enabled() {
		if err := s.checkCanary(ctx, p); err != nil {
			return res, err
		}
		if err := s.canary(ctx, p, news, st.stable, res); err != nil {
			return res, s.finished(res, s.rollback(ctx, p, news, s.undoCanary(ctx, p, err), routeChange{}))
		}
	}
	if len(st.stable) > len(news) {
		// More old containers than canary ones (--canary-replicas below
		// the service's replicas): the rest roll as in dswap up.
		return res, s.finished(res, s.promoteRest(ctx, p, st, news, res))
	}
	s.enter(PhaseFlip, "moving Traefik's route to the new container(s)")
	absent := []string{}
	for _, name := range p.routing.ServiceNames() {
		absent = append(absent, labels.StableChild(name), labels.CanaryChild(name))
	}
	flipped, err := s.flipAway(ctx, p, news, absent)
	if err != nil {
		return res, s.finished(res, s.rollback(ctx, p, news, s.undoCanary(ctx, p, err), routeChange{}))
	}
	s.weighed(100)
	res.Flip = flipped.took
	readyAt := time.Now()
	if s.cfg.Monitor > 0 {
		if err := s.monitor(ctx, news, readyAt, p.routing.ServiceNames()); err != nil {
			return res, s.finished(res, s.rollback(ctx, p, news, s.undoCanary(ctx, p, err), routeChange{}))
		}
	}
	p.serving = news
	outs, err := s.drain(context.WithoutCancel(ctx), st.stable)
	res.Drained = outs
	if err != nil {
		return res, s.finished(res, fmt.Errorf("traffic is on %s, but stopping the old container failed: %w; remove it with `docker rm -f %s`", strings.Join(res.New, ", "), err, strings.Join(res.Old, " ")))
	}
	s.enter(PhaseDone, "done: the canary was promoted")
	return res, s.finished(res, nil)
}

// flipAway routes the service to news alone, decoded from their labels,
// with the canary's children gone from Traefik.
func (s *Swapper) flipAway(ctx context.Context, p *plan, news []*engine.Container, absent []string) (routeChange, error) {
	fresh, err := s.Docker.Inspect(ctx, news[0].ID)
	if err != nil {
		return routeChange{}, err
	}
	routing, err := s.decodeRouting(fresh.Labels, p.svc.Name, fresh.ExposedPorts)
	if err != nil {
		return routeChange{}, asBadInput(fmt.Errorf("new container %s: %w", fresh.Name, err))
	}
	return s.route(ctx, p.svc, routing, news, absent)
}

// finished fills the result's totals.
func (s *Swapper) finished(res *Result, err error) error {
	res.Total = time.Since(s.started)
	res.Steps = s.steps
	res.Weights = s.weights
	return err
}

// Abort ends a paused canary the other way: all the traffic back on the
// old version (the canary's children gone from Traefik, confirmed), then
// the new containers stopped with the drain window and removed.
func (s *Swapper) Abort(ctx context.Context, service string, over Overrides) (res *Result, err error) {
	s.started = time.Now()
	s.overrides = over
	s.enter(PhasePlan, "aborting the paused canary", "service", service)
	p, st, err := s.lockPaused(ctx, service)
	if err != nil {
		return nil, err
	}
	defer st.release()
	res = &Result{Service: p.svc.Name, FromImage: p.fromImage, ToImage: p.fromImage, Old: containerNames(st.canary), New: containerNames(st.stable)}
	if len(st.canary) > 0 {
		res.FromImage = st.canary[0].Image
	}
	ctx = context.WithoutCancel(ctx) // an abort half done helps nobody
	s.enter(PhaseRollback, "taking the canary out: all the traffic back on the old version")
	var absent []string
	for _, name := range p.routing.ServiceNames() {
		absent = append(absent, labels.StableChild(name), labels.CanaryChild(name))
	}
	if _, err := s.route(ctx, p.svc, p.routing, st.stable, absent); err != nil {
		return res, s.finished(res, fmt.Errorf("aborting the canary of %s: %w; the route still splits the traffic as before: run dswap abort %s again", p.svc.Ref(), err, p.svc.Ref()))
	}
	s.weighed(0)
	outs, err := s.drain(ctx, st.canary)
	res.Drained = outs
	s.recordAbort(p, res, err)
	if err != nil {
		return res, s.finished(res, fmt.Errorf("all the traffic is back on %s, but stopping the canary failed: %w; remove it with `docker rm -f %s`", strings.Join(res.New, ", "), err, strings.Join(res.Old, " ")))
	}
	s.enter(PhaseDone, "done: the canary was aborted; the old version takes all the traffic")
	return res, s.finished(res, nil)
}

// recordAbort writes the abort to the service's history.
func (s *Swapper) recordAbort(p *plan, res *Result, err error) {
	if s.History == nil {
		return
	}
	e := history.Entry{ID: p.swapID, Service: p.svc.Name, Started: s.started.UTC(), Duration: time.Since(s.started),
		Result: "rolled-back", ToImage: res.ToImage, FromImage: res.FromImage, Containers: res.New, Reason: "canary aborted by dswap abort"}
	if err != nil {
		e.Reason += "; " + err.Error()
	}
	if herr := s.History.Append(p.svc.Key(), e); herr != nil {
		s.log.Warn("could not record the abort in the service's history", "error", herr)
	}
}
