package swap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// routeChange is a route file that was written.
type routeChange struct {
	took        time.Duration
	confirmedBy string
	// previous is the file it replaced; hadPrevious is false if there was
	// none. written says whether the new file is in the directory; reached
	// whether it was, however briefly (see routeWrite).
	previous    []byte
	hadPrevious bool
	written     bool
	reached     bool
	shown       bool // Traefik showed the file the directory holds now
}

// flip routes the service to the new containers, decoding the route from
// the labels they actually carry.
func (s *Swapper) flip(ctx context.Context, p *plan, news, keep []*engine.Container) (routeChange, error) {
	fresh := make([]*engine.Container, 0, len(news))
	for _, c := range news {
		now, err := s.Docker.Inspect(ctx, c.ID)
		if err != nil {
			return routeChange{}, err
		}
		fresh = append(fresh, now)
	}
	routing, err := s.decodeRouting(fresh[0].Labels, p.svc.Name, fresh[0].ExposedPorts)
	if err != nil {
		return routeChange{}, asBadInput(fmt.Errorf("new container %s: %w", fresh[0].Name, err))
	}
	return s.route(ctx, p.svc, routing, append(append([]*engine.Container{}, keep...), fresh...), nil)
}

// route writes the service's route file so that it points at exactly
// these containers, and waits until Traefik shows it.
func (s *Swapper) route(ctx context.Context, svc *Service, routing *labels.Routing, containers []*engine.Container, absent []string) (routeChange, error) {
	var change routeChange
	targets, err := s.targets(ctx, containers)
	if err != nil {
		return change, err
	}
	content, err := routing.File(svc.Ref(), targets)
	if err != nil {
		return change, err
	}
	if since := time.Since(s.Routes.LastChange()); since < traefik.Throttle {
		s.log.Info("Traefik applies file changes at most every "+traefik.Throttle.String()+" (providers.providersThrottleDuration); the last change was recent, so this one may wait", "phase", s.phase.String(), "last change", round(since), "may wait up to", round(traefik.Throttle-since))
	}
	exp := traefik.Expectation{Servers: routing.ServerURLs(targets), Routers: routing.RouterNames(), Absent: absent}
	w, err := s.commitRoute(ctx, svc.Key(), content, exp)
	change.previous, change.hadPrevious, change.written, change.reached, change.took = w.previous, w.hadPrevious, w.written, w.reached, w.took
	change.shown = w.shown
	change.confirmedBy = s.Traefik.ConfirmedBy()
	if err != nil {
		return change, err
	}
	s.log.Info("route applied", "phase", s.phase.String(), "file", s.Routes.FileFor(svc.Key()), "servers", strings.Join(flatten(exp.Servers), ","), "took", round(change.took))
	return change, nil
}

func flatten(m map[string][]string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, m[k]...)
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// rollback undoes a swap that failed before traffic moved for good: the
// route goes back to what it was, the new containers are removed, and the
// old ones, never touched, keep serving. It runs even if ctx was cancelled
// (Ctrl-C), with its own deadline.
//
// A new container whose route reached the directory may get requests
// until Traefik shows a route without it, even when the write was undone
// at once: Traefik may have read the write and apply it later (a paused
// or busy Traefik, a change waiting in its reload throttle). So it is
// stopped only once Traefik shows the route file as it is now, and then
// with the drain window, like an old container; if Traefik does not show
// it, the container is left running and the error says what to do.
func (s *Swapper) rollback(ctx context.Context, p *plan, news []*engine.Container, cause error, change routeChange) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout+s.cfg.Drain+time.Minute)
	defer cancel()
	if len(news) == 0 && !change.written {
		return cause
	}
	s.enter(PhaseRollback, "undoing the swap: the old version keeps serving", "reason", cause)
	failedPhase := s.lastWorkPhase()
	var rbErrs []error
	shown := change.shown && !change.written
	if change.written {
		var err error
		if shown, err = s.restoreRoute(rctx, p, change); err != nil {
			rbErrs = append(rbErrs, err)
		}
	}
	fe := &FailedError{Service: p.svc.Name, Phase: failedPhase, Reason: cause, Kept: describeKept(p)}
	if len(news) > 0 {
		s.diagnose(rctx, news, fe)
	}
	// The new containers served (after the flip, or as a canary): requests
	// Traefik sent them before the route went back are still in flight.
	if (change.reached || p.canaryServed) && len(news) > 0 {
		if err := s.awaitRouteWithout(rctx, p.svc, p.routing.ServiceNames(), news, shown); err != nil {
			next := fmt.Errorf("%w, so the new container(s) %s are left running to answer the requests it may still send them; once Traefik answers, `dswap sync %s` removes them", err, strings.Join(containerNames(news), ", "), p.svc.Ref())
			if errors.Is(err, errStillRouted) {
				next = fmt.Errorf("%w: the swap's route stays, so the new container(s) %s are left running and serve; `dswap sync %s` finishes the swap from there, and `dswap rollback %s` goes back", err, strings.Join(containerNames(news), ", "), p.svc.Ref(), p.svc.Ref())
			}
			fe.RollbackErr = errors.Join(append(rbErrs, next)...)
			s.enter(PhaseFailed, "swap failed; the new container(s) are left running until Traefik shows the route without them", "kept", fe.Kept)
			return fe
		}
		if _, err := s.stopAll(rctx, news); err != nil {
			s.log.Warn("stopping the new container(s) gracefully failed; removing them", "phase", s.phase.String(), "error", err)
		}
	}
	for _, c := range news {
		if err := s.Docker.Remove(rctx, c.ID); err != nil && !errors.Is(err, engine.ErrNotFound) {
			rbErrs = append(rbErrs, err)
		}
	}
	fe.RollbackErr = errors.Join(rbErrs...)
	s.enter(PhaseFailed, "swap failed; rolled back", "kept", fe.Kept)
	if errors.Is(cause, ErrBadInput) && fe.RollbackErr == nil {
		return cause
	}
	return fe
}

// settleTimeout bounds the wait for Traefik to show a route file that was
// put back after a write it did not confirm, before the containers only
// that write routed are stopped. Traefik applies a change at the latest a
// reload throttle (2 s by default) after it reads it; this leaves room for
// a Traefik that was paused or starved meanwhile.
const settleTimeout = 30 * time.Second

// errStillRouted is a route file that still names a new container after
// putting the old one back failed.
var errStillRouted = errors.New("still routes")

// awaitRouteWithout checks that the service's route file routes none of
// cs and, unless Traefik already showed it (shown), waits until Traefik
// shows it (see awaitShown): until then, Traefik may still send them
// requests.
func (s *Swapper) awaitRouteWithout(ctx context.Context, svc *Service, services []string, cs []*engine.Container, shown bool) error {
	key := svc.Key()
	content, ok, err := s.Routes.Read(key)
	if err != nil {
		return err
	}
	if ok {
		rf, err := labels.ReadRouteFile(content)
		if err != nil {
			return fmt.Errorf("route file %s: %w; dswap cannot tell whether it routes %s", s.Routes.FileFor(key), err, strings.Join(containerNames(cs), ", "))
		}
		for _, c := range cs {
			if host, routed := s.Addressing.Routes(c, rf.Hosts()); routed {
				return fmt.Errorf("route file %s %w %s (%s)", s.Routes.FileFor(key), errStillRouted, c.Name, host)
			}
		}
	}
	if shown {
		return nil
	}
	return s.awaitShown(ctx, key, services, cs)
}

// awaitShown waits until Traefik shows the route file of the service with
// this key as it is in the directory now: its generation, or, when there
// is none, its services gone. A write Traefik has not confirmed may still
// be applied after it was replaced (it waits in Traefik's reload
// throttle, or Traefik was paused), so what Traefik routes is known only
// then, with one exception (see heldBack): a Traefik that keeps answering
// with an older configuration of the service that routes none of cs is
// holding back the whole directory (a file in it it refuses), and will
// read the directory as it is, not the replaced write, once it loads again.
func (s *Swapper) awaitShown(ctx context.Context, key string, services []string, cs []*engine.Container) error {
	file := s.Routes.FileFor(key)
	content, ok, err := s.Routes.Read(key)
	if err != nil {
		return err
	}
	exp := traefik.Expectation{Marker: labels.GenerationMarker(key), Absent: services}
	if ok {
		rf, err := labels.ReadRouteFile(content)
		if err != nil {
			return fmt.Errorf("route file %s: %w", file, err)
		}
		exp.Absent, exp.Servers = nil, rf.Servers
		if exp.Generation = int64(labels.GenerationOf(content)); exp.Generation == 0 {
			exp.Marker = "" // a file without dswap's marker: its servers must do
		}
		services = rf.Services
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	held := make(chan string, 1)
	if exp.Marker != "" && exp.Generation != 0 && len(cs) > 0 {
		go func() {
			if why := s.heldBack(wctx, exp.Marker, exp.Generation, services, cs); why != "" {
				held <- why
				cancel()
			}
		}()
	}
	_, err = s.Traefik.WaitApplied(wctx, exp, max(settleTimeout, s.cfg.FlipTimeout))
	if err != nil {
		select {
		case why := <-held:
			s.log.Warn(why, "phase", s.phase.String(), "file", file)
			return nil
		default:
		}
		return fmt.Errorf("Traefik does not show route file %s as it is now: %w", file, err)
	}
	return nil
}

// heldBackFor is how long Traefik must keep answering with one older
// configuration of a service, routing none of the containers in question,
// for heldBack to conclude that it holds back its file-provider directory:
// a change Traefik has read is applied within one reload throttle, so three
// throttles of answers without a change mean it read none it will apply.
var heldBackFor = 3 * traefik.Throttle

// heldBack returns, once Traefik has answered for heldBackFor with the
// same generation of the service's route, older than want, in which the
// services route none of cs, why that is safe; "" when ctx ends first.
// A paused Traefik does not answer and restarts the count.
func (s *Swapper) heldBack(ctx context.Context, marker string, want int64, services []string, cs []*engine.Container) string {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var since time.Time
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		rt, err := s.Traefik.Runtime(rctx)
		cancel()
		gen, ok := int64(0), false
		if err == nil {
			gen, ok = rt.Generation(marker)
		}
		if !ok || gen >= want || routesAny(rt, services, cs, s.Addressing) {
			last, since = -1, time.Time{}
			continue
		}
		if gen != last {
			last, since = gen, time.Now()
			continue
		}
		if time.Since(since) >= heldBackFor {
			return fmt.Sprintf("Traefik has shown generation %d of this route, not the file's %d, for %s while answering, and routes none of %s: it holds back the routes directory (a file in it it refuses; its log says \"Error occurred during watcher callback\"), so it will read the file as it is now once it loads again", gen, want, heldBackFor, strings.Join(containerNames(cs), ", "))
		}
	}
}

// routesAny says whether Traefik's services route any of cs.
func routesAny(rt *traefik.Runtime, services []string, cs []*engine.Container, a Addressing) bool {
	var hosts []string
	for _, name := range services {
		for _, u := range rt.Services[name+"@file"].ServerURLs() {
			if parsed, err := url.Parse(u); err == nil {
				hosts = append(hosts, parsed.Hostname())
			}
		}
	}
	for _, c := range cs {
		if _, routed := a.Routes(c, hosts); routed {
			return true
		}
	}
	return false
}

// lastWorkPhase is the phase the swap was in before rolling back.
func (s *Swapper) lastWorkPhase() Phase {
	for i := len(s.steps) - 1; i >= 0; i-- {
		if p := s.steps[i].Phase; p != PhaseRollback && p != PhaseFailed {
			return p
		}
	}
	return PhasePlan
}

// restoreRoute puts back the route file a swap replaced, confirmed as any
// write; if Traefik does not confirm it, the swap's file stays (see
// commitRoute), and the error says so. shown says Traefik showed the file
// the directory holds afterwards.
func (s *Swapper) restoreRoute(ctx context.Context, p *plan, change routeChange) (shown bool, err error) {
	key := p.svc.Key()
	if !change.hadPrevious {
		if err := s.removeRoute(ctx, key, p.routing.ServiceNames()); err != nil {
			return false, err
		}
		return true, nil
	}
	rf, err := labels.ReadRouteFile(change.previous)
	if err != nil {
		// Not a file dswap can read: put it back byte for byte; it is what
		// Traefik had, and there is nothing to compare with.
		if err := s.Routes.Write(key, change.previous); err != nil {
			return false, fmt.Errorf("restoring route file %s: %w", s.Routes.FileFor(key), err)
		}
		return false, nil
	}
	w, err := s.commitRoute(ctx, key, change.previous, traefik.Expectation{Servers: rf.Servers})
	if err != nil {
		return w.shown, fmt.Errorf("restoring the previous route file: %w", err)
	}
	return true, nil
}

// diagnose records the state, health log and last log lines of the first
// new container that is not healthy (or the first one).
func (s *Swapper) diagnose(ctx context.Context, news []*engine.Container, fe *FailedError) {
	pick := news[0]
	var picked *engine.Container
	for _, c := range news {
		now, err := s.Docker.Inspect(ctx, c.ID)
		if err != nil {
			continue
		}
		if picked == nil || now.State.Health != "healthy" {
			pick, picked = c, now
			if now.State.Health != "healthy" {
				break
			}
		}
	}
	fe.Container = pick.Name
	if picked != nil {
		st := picked.State
		fe.State = st.Status
		if !st.Running && !st.FinishedAt.IsZero() {
			fe.State += fmt.Sprintf(", exit code %d", st.ExitCode)
			if st.OOMKilled {
				fe.State += " (out of memory)"
			}
		}
		if st.Health != "" {
			fe.State += ", health " + st.Health
		}
		if st.Error != "" {
			fe.State += ": " + st.Error
		}
		fe.HealthLog = picked.State.HealthLog
	}
	if logs, err := s.Docker.Logs(ctx, pick.ID, 20); err == nil {
		fe.Logs = logs
	}
}

func describeKept(p *plan) string {
	if len(p.serving) == 0 {
		return "nothing was running before; nothing is running now"
	}
	if len(p.done) == 0 {
		return describeServing(p) + " keeps serving, unchanged"
	}
	return describeServing(p) + " serve now"
}

// describeServing names the routed containers by image.
func describeServing(p *plan) string {
	byImage := map[string][]string{}
	var images []string
	for _, c := range p.serving {
		if _, ok := byImage[c.Image]; !ok {
			images = append(images, c.Image)
		}
		byImage[c.Image] = append(byImage[c.Image], c.Name)
	}
	var parts []string
	for _, img := range images {
		parts = append(parts, fmt.Sprintf("%s (%s)", img, strings.Join(byImage[img], ", ")))
	}
	return strings.Join(parts, " and ")
}
