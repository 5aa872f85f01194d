package swap

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	// none. written says whether the new file reached the directory.
	previous    []byte
	hadPrevious bool
	written     bool
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
	change.previous, change.hadPrevious, change.written, change.took = w.previous, w.hadPrevious, w.written, w.took
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
func (s *Swapper) rollback(ctx context.Context, p *plan, news []*engine.Container, cause error, change routeChange) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if len(news) == 0 && !change.written {
		return cause
	}
	s.enter(PhaseRollback, "undoing the swap: the old version keeps serving", "reason", cause)
	failedPhase := s.lastWorkPhase()
	var rbErrs []error
	if change.written {
		if err := s.restoreRoute(rctx, p, change); err != nil {
			rbErrs = append(rbErrs, err)
		}
	}
	fe := &FailedError{Service: p.svc.Name, Phase: failedPhase, Reason: cause, Kept: describeKept(p)}
	if len(news) > 0 {
		s.diagnose(rctx, news, fe)
	}
	if (change.written || p.canaryServed) && len(rbErrs) == 0 {
		// The new containers served (after the flip, or as a canary):
		// requests Traefik sent them before the route went back are still
		// in flight, and a forced removal would answer them 502. They get
		// their stop signal and the drain window, as an old container does.
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
// commitRoute), and the error says so.
func (s *Swapper) restoreRoute(ctx context.Context, p *plan, change routeChange) error {
	key := p.svc.Key()
	if !change.hadPrevious {
		return s.removeRoute(ctx, key, p.routing.ServiceNames())
	}
	rf, err := labels.ReadRouteFile(change.previous)
	if err != nil {
		// Not a file dswap can read: put it back byte for byte; it is what
		// Traefik had, and there is nothing to compare with.
		if err := s.Routes.Write(key, change.previous); err != nil {
			return fmt.Errorf("restoring route file %s: %w", s.Routes.FileFor(key), err)
		}
		return nil
	}
	if _, err := s.commitRoute(ctx, key, change.previous, traefik.Expectation{Servers: rf.Servers}); err != nil {
		return fmt.Errorf("restoring the previous route file: %w", err)
	}
	return nil
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
