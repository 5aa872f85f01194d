package swap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Upkeep is what Reconcile did for one service.
type Upkeep int

const (
	// UpkeepUnchanged: the route file already pointed at exactly the
	// running containers; nothing was written, so Traefik did not reload.
	UpkeepUnchanged Upkeep = iota
	// UpkeepRouted: the route file was written and Traefik showed it.
	UpkeepRouted
	// UpkeepWaiting: the route would change, but a container is still
	// starting; its health_status event brings the service back.
	UpkeepWaiting
	// UpkeepIdle: the service has no running container; its route file,
	// if any, was left as it was.
	UpkeepIdle
	// UpkeepElsewhere: no container of the service is on a network of
	// this Traefik; another Traefik (and its dswap) routes it, so it was
	// not touched.
	UpkeepElsewhere
	// UpkeepPaused: the service's canary is paused (pause.go); its split
	// route is the user's, until dswap promote or abort.
	UpkeepPaused
)

var upkeepNames = [...]string{"unchanged", "routed", "waiting", "idle", "elsewhere", "paused"}

func (u Upkeep) String() string {
	if u < 0 || int(u) >= len(upkeepNames) {
		return "unknown"
	}
	return upkeepNames[u]
}

// Reconciled reports one Reconcile.
type Reconciled struct {
	Service    string
	Upkeep     Upkeep
	Containers []string
	// Repaired lists the containers of an interrupted swap that were
	// stopped and removed first.
	Repaired []string
	Took     time.Duration
}

// Reconcile keeps one service's route right, the way a sidecar does after
// Docker events: it is Sync for one service, made safe to run on every
// event. It takes the service's lock as the Locker is configured (the
// sidecar uses no wait, and retries later when a swap holds it), finishes
// or undoes an interrupted swap, and writes the route only when its content
// would change: an identical rewrite still costs one of Traefik's reload
// slots. A service with no running container is left alone, and a changed
// route is not written while a container is still starting.
//
// Only services this Traefik can reach are kept: a service whose
// containers share no network with it belongs to another Traefik, whose
// routes (and locks) live in another directory.
//
// Unlike Sync it does not stop running containers the route does not name
// unless a swap left them (dswap created them, or a routed container
// replaced them): a container added by `docker compose up --scale` is
// routed, not removed.
func (s *Swapper) Reconcile(ctx context.Context, ref string, over Overrides) (Reconciled, error) {
	s.started = time.Now()
	s.overrides = over
	out := Reconciled{Service: ref, Upkeep: UpkeepIdle}
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return out, err
	}
	if !anyOf(all, ref) {
		return out, nil // gone, or never started
	}
	svc, err := FindService(all, ref, "")
	if err != nil {
		return out, err
	}
	if !s.Addressing.reachesAny(svc) {
		out.Upkeep = UpkeepElsewhere
		return out, nil
	}
	if err := s.scope(svc); err != nil {
		return out, err
	}
	release := func() {}
	if s.Locks != nil {
		if release, err = s.Locks.Lock(ctx, svc.Key(), s.LockWait); err != nil {
			return out, err
		}
	}
	defer release()
	// Whoever held the lock may have changed the service.
	if svc, err = s.findAgain(ctx, ref); err != nil {
		return out, err
	}
	if err := s.migrateLegacyRoute(svc); err != nil {
		return out, err
	}
	if _, _, paused, err := s.pausedCanary(svc); err != nil {
		return out, err
	} else if paused {
		out.Upkeep, out.Containers = UpkeepPaused, containerNames(svc.Running)
		return out, nil
	}
	if err := s.admit(svc); err != nil {
		return out, err
	}
	var settings labels.Settings
	if t := svc.Template(); t != nil {
		if settings, err = labels.DecodeSettings(t.Labels); err != nil {
			return out, asBadInput(fmt.Errorf("container %s: %w", t.Name, err))
		}
	}
	if s.cfg, err = Layer(over, settings); err != nil {
		return out, err
	}

	if out.Repaired, err = s.repairSwapLeftovers(ctx, svc); err != nil {
		return out, err
	}
	if len(out.Repaired) > 0 {
		if svc, err = s.findAgain(ctx, ref); err != nil {
			return out, err
		}
		if err := s.admit(svc); err != nil {
			return out, err
		}
	}
	if len(svc.Running) == 0 {
		return out, nil
	}
	out.Containers = containerNames(svc.Running)

	source := svc.RoutingSource
	routing, err := s.decodeRouting(source.Labels, svc.Name, source.ExposedPorts)
	if err != nil {
		return out, asBadInput(fmt.Errorf("service %s (container %s): %w", svc.Name, source.Name, err))
	}
	targets, err := s.targets(ctx, svc.Running)
	if err != nil {
		return out, err
	}
	content, err := routing.File(svc.Ref(), targets)
	if err != nil {
		return out, err
	}
	current, ok, err := s.Routes.Read(svc.Key())
	if err != nil {
		return out, err
	}
	// The generation marker differs on every write; only the routes count.
	if ok && labels.SameRoute(current, content) {
		out.Upkeep = UpkeepUnchanged
		return out, nil
	}
	for _, c := range svc.Running {
		if c.State.Health == "starting" {
			out.Upkeep = UpkeepWaiting
			return out, nil
		}
	}
	if err := s.checkConflicts(ctx, routing); err != nil {
		return out, err
	}
	if err := s.checkNames(svc, routing); err != nil {
		return out, err
	}
	s.enter(PhaseFlip, "routing", "service", svc.Name, "containers", strings.Join(out.Containers, ","))
	change, err := s.route(ctx, svc, routing, svc.Running, nil)
	if err != nil {
		return out, fmt.Errorf("routing service %s: %w", svc.Name, err)
	}
	out.Upkeep, out.Took = UpkeepRouted, change.took
	return out, nil
}

// anyOf says whether a container of the service ref exists.
func anyOf(all []*engine.Container, ref string) bool {
	for _, c := range all {
		if r, ok := RefOf(c.Labels, c.Image); ok && r == ref {
			return true
		}
	}
	return false
}

func (s *Swapper) findAgain(ctx context.Context, ref string) (*Service, error) {
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, err
	}
	return s.findService(all, ref, "")
}

// repairSwapLeftovers stops and removes what an interrupted swap left:
// running containers the route does not name that a swap created or that
// a routed container replaced (they get the drain window, as in a swap),
// and containers a swap created but never started. Other unrouted
// containers are the user's and stay.
func (s *Swapper) repairSwapLeftovers(ctx context.Context, svc *Service) ([]string, error) {
	d, err := s.Inspect(svc)
	if err != nil {
		return nil, err
	}
	var stale []*engine.Container
	for _, c := range d.Unrouted {
		if c.Labels[labels.CreatedByLabel] == labels.CreatedByValue || previousOfAny(c.Name, d.Routed) {
			stale = append(stale, c)
		}
	}
	if len(stale) == 0 && len(d.Leftovers) == 0 && len(d.Tasks) == 0 {
		return nil, nil
	}
	s.log.Warn("a previous swap of this service was interrupted; putting it right first", "phase", PhasePlan.String(),
		"service", svc.Name, "stopping", strings.Join(containerNames(stale), ","), "removing", strings.Join(containerNames(d.Leftovers), ","))
	// Cleanup must finish even if the sidecar is stopped now.
	ctx = context.WithoutCancel(ctx)
	if err := s.unsplit(ctx, svc, d); err != nil {
		return nil, err
	}
	if err := s.awaitUnrouted(ctx, svc, stale); err != nil {
		return nil, err
	}
	if _, err := s.stopAll(ctx, stale); err != nil {
		return nil, fmt.Errorf("finishing the interrupted swap of %s: %w", svc.Name, err)
	}
	gone := append(stale, d.Leftovers...)
	if err := s.removeAll(ctx, gone); err != nil {
		return nil, fmt.Errorf("removing containers an interrupted swap of %s left: %w", svc.Name, err)
	}
	if err := s.removeTasks(ctx, d.Tasks); err != nil {
		return nil, err
	}
	return containerNames(append(gone, d.Tasks...)), nil
}

// ManagedRefs lists the dswap-managed services this Traefik can reach by
// the reference FindService takes ("web", or "project/web" for compose).
func (s *Swapper) ManagedRefs(ctx context.Context) ([]string, error) {
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, svc := range groupManaged(all) {
		if s.Addressing.reachesAny(svc) {
			refs = append(refs, svc.Ref())
		}
	}
	return refs, nil
}

// reachesAny says whether Traefik can reach a container of the service:
// one shares a network with it, or Traefik runs on the host (no networks
// known), which reaches every container by IP.
func (a Addressing) reachesAny(svc *Service) bool {
	if len(a.TraefikNetworks) == 0 {
		return true
	}
	for _, c := range append(append([]*engine.Container{}, svc.Running...), svc.Stopped...) {
		for n := range c.Networks {
			if slices.Contains(a.TraefikNetworks, n) {
				return true
			}
		}
	}
	return false
}

// RefOf returns the service reference of a container from its labels and
// image, as they come in a Docker event's attributes; ok is false for a
// container dswap does not manage.
func RefOf(lbls map[string]string, image string) (ref string, ok bool) {
	c := &engine.Container{Labels: lbls, Image: image}
	if !Managed(c) || lbls[compose.OneoffLabel] == "True" {
		return "", false
	}
	name := ServiceName(c)
	if id, isCompose := compose.FromLabels(lbls); isCompose {
		return id.Project + "/" + name, true
	}
	return name, true
}
