package swap

import (
	"context"
	"fmt"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Damage is what an interrupted swap left behind, read from Docker and the
// route file: the only places a swap keeps its state.
type Damage struct {
	// Routed are the running containers the route file points at.
	Routed []*engine.Container
	// Unrouted are running containers of the service the route does not
	// point at: the new container of a swap interrupted before its flip,
	// or the old one of a swap interrupted after it. Either way no new
	// request reaches them, so stopping them gracefully is safe.
	Unrouted []*engine.Container
	// Leftovers are containers a swap created that never ran, and old
	// containers a finished swap stopped but did not remove.
	Leftovers []*engine.Container
	// Tasks are one-off containers of release tasks that a dswap killed
	// mid-task left, running or not. Nobody follows them any more: they
	// are removed (killed if still running), as Ctrl-C would have.
	Tasks []*engine.Container
	// NoRoute is set when the service has running containers but no route
	// file (never adopted), or a route that names none of them.
	NoRoute bool
}

// Interrupted says whether the service is mid-swap.
func (d Damage) Interrupted() bool {
	return len(d.Routed) > 0 && len(d.Unrouted) > 0 || len(d.Leftovers) > 0 || len(d.Tasks) > 0
}

func (d Damage) String() string {
	var parts []string
	if len(d.Unrouted) > 0 {
		parts = append(parts, fmt.Sprintf("running but not routed: %s", strings.Join(containerNames(d.Unrouted), ", ")))
	}
	if len(d.Leftovers) > 0 {
		parts = append(parts, fmt.Sprintf("left over: %s", strings.Join(containerNames(d.Leftovers), ", ")))
	}
	if len(d.Tasks) > 0 {
		parts = append(parts, fmt.Sprintf("release task container(s) left: %s", strings.Join(containerNames(d.Tasks), ", ")))
	}
	if len(parts) == 0 {
		return "consistent"
	}
	return "interrupted swap: " + strings.Join(parts, "; ")
}

func containerNames(cs []*engine.Container) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// Inspect compares the service's containers with its route file.
func (s *Swapper) Inspect(svc *Service) (Damage, error) {
	var d Damage
	content, ok, err := s.Routes.Read(svc.Key())
	if err != nil {
		return d, err
	}
	var hosts []string
	if ok {
		rf, err := labels.ReadRouteFile(content)
		if err != nil {
			return d, fmt.Errorf("route file %s: %w", s.Routes.FileFor(svc.Key()), err)
		}
		// A canary's file routes its canary child too; a dswap killed
		// during the canary leaves it undone (see StableHosts).
		hosts, _ = rf.StableHosts()
		if _, paused := labels.ReadPaused(content); paused {
			// A paused canary routes both children on purpose (pause.go).
			hosts = rf.Hosts()
		}
	}
	for _, c := range svc.Running {
		if _, ok := s.Addressing.Routes(c, hosts); ok {
			d.Routed = append(d.Routed, c)
		} else {
			d.Unrouted = append(d.Unrouted, c)
		}
	}
	if len(d.Routed) == 0 {
		// Nothing routed: either never adopted, or the route names
		// containers that are gone. There is no swap to finish; the caller
		// routes what runs.
		d.NoRoute = len(svc.Running) > 0
		d.Unrouted = nil
	}
	d.Tasks = svc.Tasks
	for _, c := range svc.Stopped {
		switch {
		case c.State.Status == "created" && c.Labels[labels.CreatedByLabel] == "dswap":
			d.Leftovers = append(d.Leftovers, c)
		case len(d.Routed) > 0 && previousOfAny(c.Name, d.Routed):
			d.Leftovers = append(d.Leftovers, c)
		}
	}
	return d, nil
}

// previousOfAny says whether name is the container some routed container
// replaced: an old container that was stopped but not removed.
func previousOfAny(name string, routed []*engine.Container) bool {
	for _, c := range routed {
		if c.Labels[labels.PreviousContainerLabel] == name {
			return true
		}
	}
	return false
}

// repair finishes or undoes an interrupted swap so that exactly the routed
// containers run: the others are stopped with the drain window (they get
// no new requests, and may finish the ones they have) and removed, and
// containers left over are removed. It reports what it did.
func (s *Swapper) repair(ctx context.Context, svc *Service) (bool, error) {
	d, err := s.Inspect(svc)
	if err != nil {
		return false, err
	}
	if !d.Interrupted() {
		s.recordUnrecorded(svc, d.Routed)
		return false, nil
	}
	s.log.Warn("a previous swap of this service was interrupted; putting it right first", "phase", PhasePlan.String(), "state", d.String(), "routed", strings.Join(containerNames(d.Routed), ","))
	// Cleanup must finish even if the user interrupts now, or the service
	// stays half-swapped.
	ctx = context.WithoutCancel(ctx)
	if err := s.unsplit(ctx, svc, d); err != nil {
		return true, err
	}
	if err := s.awaitUnrouted(ctx, svc, d.Unrouted); err != nil {
		return true, err
	}
	if _, err := s.stopAll(ctx, d.Unrouted); err != nil {
		return true, fmt.Errorf("finishing the interrupted swap: %w", err)
	}
	if err := s.removeAll(ctx, append(d.Unrouted, d.Leftovers...)); err != nil {
		return true, fmt.Errorf("removing containers an interrupted swap left: %w", err)
	}
	if err := s.removeTasks(ctx, d.Tasks); err != nil {
		return true, err
	}
	s.log.Info("interrupted swap put right", "phase", PhasePlan.String(), "serving", strings.Join(containerNames(d.Routed), ","))
	s.recordRecovered(svc, d)
	return true, nil
}

// awaitUnrouted waits, before containers the route file does not name are
// stopped, until Traefik shows that file: an interrupted swap may have
// left a write Traefik has not applied yet, or one it applies late (see
// awaitShown), and until Traefik shows the file it may still send them
// requests.
func (s *Swapper) awaitUnrouted(ctx context.Context, svc *Service, unrouted []*engine.Container) error {
	if len(unrouted) == 0 {
		return nil
	}
	if err := s.awaitShown(ctx, svc.Key(), nil, unrouted); err != nil {
		return fmt.Errorf("%w, so %s, which it may still route to, are left running; run the command again once Traefik answers", err, strings.Join(containerNames(unrouted), ", "))
	}
	return nil
}

// removeTasks removes the one-off containers of release tasks a killed
// dswap left. One still running is killed: whatever it was doing, no dswap
// reports on it, and a swap that had not flipped yet did not happen. Its
// last lines are logged, since they are all that is left of it.
func (s *Swapper) removeTasks(ctx context.Context, cs []*engine.Container) error {
	for _, c := range cs {
		attrs := []any{"phase", PhasePlan.String(), "container", c.Name, "task", c.Labels[TaskLabel], "state", c.State.Status}
		if out, err := s.Docker.Logs(ctx, c.ID, 5); err == nil && strings.TrimSpace(out) != "" {
			attrs = append(attrs, "last output", oneLine(out))
		}
		s.log.Warn("removing the container of a release task a killed dswap left", attrs...)
	}
	if err := s.removeAll(ctx, cs); err != nil {
		return fmt.Errorf("removing the release task container(s) an interrupted swap left (%s): %w; remove them with docker rm -f", strings.Join(containerNames(cs), " "), err)
	}
	return nil
}

// lockService finds the service, takes its lock and puts right what an
// interrupted swap left, so that the swap starts from a consistent state.
// It returns the service as it is once the lock is held.
func (s *Swapper) lockService(ctx context.Context, name, image string) (*Service, []*engine.Container, func(), error) {
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := s.findService(all, name, image)
	if err != nil {
		return nil, nil, nil, err
	}
	release := func() {}
	if s.Locks != nil {
		if release, err = s.Locks.Lock(ctx, svc.Key(), s.LockWait); err != nil {
			return nil, nil, nil, err
		}
		// Whoever held the lock may have changed the service.
		if all, err = s.Docker.List(ctx, engine.ListFilter{All: true}); err == nil {
			svc, err = s.findService(all, name, image)
		}
		if err != nil {
			release()
			return nil, nil, nil, err
		}
	}
	if err := s.migrateLegacyRoute(svc); err != nil {
		release()
		return nil, nil, nil, err
	}
	if err := s.refusePaused(svc); err != nil {
		release()
		return nil, nil, nil, err
	}
	// Containers that claim the service but route differently take no
	// part: not copied, repaired, stopped or routed.
	if err := s.admit(svc); err != nil {
		release()
		return nil, nil, nil, err
	}
	var settings labels.Settings
	if t := svc.Template(); t != nil {
		if settings, err = labels.DecodeSettings(t.Labels); err != nil {
			release()
			return nil, nil, nil, asBadInput(fmt.Errorf("container %s: %w", t.Name, err))
		}
	}
	if s.cfg, err = Layer(s.overrides, settings); err != nil {
		release()
		return nil, nil, nil, err
	}
	repaired, err := s.repair(ctx, svc)
	if err == nil && repaired {
		if all, err = s.Docker.List(ctx, engine.ListFilter{All: true}); err == nil {
			if svc, err = s.findService(all, name, image); err == nil {
				err = s.admit(svc)
			}
		}
	}
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return svc, all, release, nil
}
