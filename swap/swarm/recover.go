package swarm

import (
	"context"
	"fmt"
	"slices"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// A dswap killed midway leaves its bridge service. Where the swap stood is
// read from the route file, the one record of where traffic goes:
//
//   - the route names the bridge's tasks: traffic moved to the new version
//     (flip 1 done, flip 2 not); the swap is finished: the service is
//     updated to the bridge's image, the route goes back to it, the bridge
//     is drained and removed;
//   - the route is a canary's weighted route (a stable and a canary
//     child): the dswap was killed during a canary step; the canary is
//     undone: all the traffic goes back to the service's tasks, confirmed,
//     and only then is the bridge drained and removed (canaryrecover.go);
//   - the route names the bridge's tasks and the service's: a swap in
//     batches was killed between two batches (both versions serve); it is
//     undone: the route goes back to all the service's tasks, confirmed,
//     then the bridge is drained and removed (batch.go);
//   - otherwise (the route names the service's tasks, or nothing dswap
//     knows): the bridge serves nothing; the swap is undone: the bridge is
//     drained and removed. It may have served until just before the crash
//     (flip 2 done), so it is drained, not killed.

// repairAction is what to do with a bridge left behind.
type repairAction int

const (
	repairNone    repairAction = iota // no bridge
	repairFinish                      // the route names the bridge: finish the swap
	repairUndo                        // the route does not: remove the bridge
	repairUnsplit                     // a canary's split route: traffic back to the service, then remove the bridge
	repairUnmix                       // a plain route naming both (between batches): route the service, remove the bridge
)

func (a repairAction) String() string {
	return [...]string{"none", "finish", "undo", "unsplit", "unmix"}[a]
}

// decideRepair is the pure decision: routed are the hosts the route file
// names; split says whether it is a canary's weighted route; bridge are
// the addresses of the bridge's running tasks, service those of the
// service's. A split route left behind is always a canary's step (flip 1
// writes a plain route), and the canary is undone, whichever tasks its
// canary child names now.
func decideRepair(haveBridge bool, routed []string, split bool, bridge, service []string) repairAction {
	if !haveBridge {
		return repairNone
	}
	if split {
		return repairUnsplit
	}
	onBridge := slices.ContainsFunc(routed, func(h string) bool { return slices.Contains(bridge, h) })
	onService := slices.ContainsFunc(routed, func(h string) bool { return slices.Contains(service, h) })
	switch {
	case onBridge && onService:
		return repairUnmix
	case onBridge:
		return repairFinish
	}
	return repairUndo
}

// addresses are every address of the tasks, on any network.
func addresses(tasks []engine.SwarmTask) []string {
	var out []string
	for _, t := range tasks {
		for _, ip := range t.Addresses {
			out = append(out, ip)
		}
	}
	return out
}

// repair finishes or undoes a swap of svc that a killed dswap left (the
// caller holds the lock). It reports whether there was one.
func (s *Swapper) repair(ctx context.Context, svc *engine.SwarmService) (bool, error) {
	bridge, err := s.Cluster.SwarmService(ctx, BridgeName(svc.Name))
	switch {
	case isNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	case bridge.Labels[BridgeOfLabel] != svc.Name:
		return false, swap.BadInput("a service named %s exists that dswap did not create (no %s=%s label); dswap needs that name for the bridge of %s during a swap: rename or remove that service", bridge.Name, BridgeOfLabel, svc.Name, svc.Name)
	}
	tasks, err := s.Cluster.SwarmTasks(ctx, bridge.ID)
	if err != nil {
		return false, err
	}
	svcTasks, err := s.Cluster.SwarmTasks(ctx, svc.ID)
	if err != nil {
		return false, err
	}
	routed, _, err := s.routedHosts(svc.Name)
	if err != nil {
		return false, err
	}
	split, err := s.routeSplit(svc.Name)
	if err != nil {
		return false, err
	}
	// A cleanup is never interrupted: Ctrl-C now would leave the service
	// half-swapped again.
	ctx = context.WithoutCancel(ctx)
	image := bridge.Labels[BridgeImageLabel]
	if image == "" {
		image = bridge.Image
	}
	action := decideRepair(true, routed, split, addresses(running(tasks, bridge.Image)), addresses(runningAny(svcTasks)))
	s.log.Warn("a previous swap of this service was interrupted; putting it right first", "phase", swap.PhasePlan.String(), "bridge", bridge.Name, "image", image, "action", action.String())
	if action == repairUnsplit {
		return true, s.unsplit(ctx, svc, bridge)
	}
	if action == repairUndo {
		if err := s.removeBridge(ctx, bridge); err != nil {
			return true, fmt.Errorf("removing the bridge service an interrupted swap left: %w", err)
		}
		s.log.Info("interrupted swap undone: the bridge is removed; the service kept serving", "phase", swap.PhasePlan.String(), "service", svc.Name)
		return true, nil
	}
	if action == repairUnmix {
		return true, s.unmix(ctx, svc, bridge)
	}
	started := s.Now()
	p, err := s.makePlan(ctx, svc, image)
	if err != nil {
		return true, fmt.Errorf("finishing the interrupted swap to %s (the bridge %s serves it): %w", image, bridge.Name, err)
	}
	news, err := s.updateService(ctx, p)
	if err != nil {
		return true, fmt.Errorf("finishing the interrupted swap to %s (the bridge %s serves it): %w", image, bridge.Name, err)
	}
	s.enter(swap.PhaseFlip, "moving the route to the service's new tasks", "tasks", len(news))
	if _, err := s.route(ctx, p, news); err != nil {
		return true, fmt.Errorf("finishing the interrupted swap to %s (the bridge %s serves it): %w", image, bridge.Name, err)
	}
	if err := s.removeBridge(ctx, bridge); err != nil {
		return true, fmt.Errorf("removing the bridge service an interrupted swap left: %w", err)
	}
	if s.History != nil {
		e := history.Entry{ID: fmt.Sprintf("swarm-%d", started.UnixNano()), Service: svc.Name, Started: started.UTC(), Duration: s.Now().Sub(started),
			Result: "recovered", FromImage: svc.Image, ToImage: image, ToImageID: p.imageID, Containers: taskNames(svc.Name, news),
			Reason: "interrupted after traffic moved to the bridge; finished by the next dswap command"}
		if svc.Image == image {
			// The service had been updated already; what it ran before is
			// in the interrupted swap's own plan, not here.
			e.FromImage = ""
		}
		if err := s.History.Append(swap.KeyOf(svc.Name), e); err != nil {
			s.log.Warn("could not record the finished swap in its history", "error", err)
		}
	}
	s.log.Info("interrupted swap finished", "phase", swap.PhasePlan.String(), "service", svc.Name, "image", image)
	return true, nil
}

// sync makes the route name exactly the running tasks of svc, writing it
// only when that changes. It returns what it wrote, nil if nothing.
func (s *Swapper) sync(ctx context.Context, svc *engine.SwarmService) (*swap.Synced, error) {
	p, err := s.routingPlan(ctx, svc, svc.Image)
	if err != nil {
		return nil, err
	}
	tasks, err := s.Cluster.SwarmTasks(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	live := runningAny(tasks)
	want, err := targets(live, p.network)
	if err != nil {
		return nil, err
	}
	routed, ok, err := s.routedHosts(svc.Name)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, t := range want {
		hosts = append(hosts, t.Host)
	}
	slices.Sort(hosts)
	if ok && slices.Equal(hosts, routed) {
		return nil, nil
	}
	if s.phase == swap.PhasePlan {
		s.enter(swap.PhaseFlip, "routing the service's running tasks", "tasks", len(live))
	}
	took, err := s.route(ctx, p, live)
	if err != nil {
		return nil, err
	}
	return &swap.Synced{Service: svc.Name, Containers: taskNames(svc.Name, live), File: s.Routes.FileFor(swap.KeyOf(svc.Name)), Took: took}, nil
}

// runningAny picks the tasks that run and are meant to, whatever their
// image, by slot.
func runningAny(tasks []engine.SwarmTask) []engine.SwarmTask {
	var out []engine.SwarmTask
	for _, t := range tasks {
		if t.Running() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b engine.SwarmTask) int { return a.Slot - b.Slot })
	return out
}

// Sync puts right what an interrupted swap of the service left and makes
// its route name its running tasks.
func (s *Swapper) Sync(ctx context.Context, name string, over swap.Overrides) ([]swap.Synced, error) {
	s.enter(swap.PhasePlan, "syncing", "service", name)
	svc, release, err := s.prepare(ctx, name, over)
	if err != nil {
		return nil, err
	}
	defer release()
	synced, err := s.sync(ctx, svc)
	if err != nil || synced == nil {
		return nil, err
	}
	return []swap.Synced{*synced}, nil
}

// Keep is the route keeper's look at a routed Swarm service: when the set
// of its running tasks differs from what the route names (Swarm restarted
// or rescheduled a task), the route is rewritten, under the service's lock
// taken without waiting. A swap in progress (the lock held) is left alone:
// the error wraps lock.ErrHeld and the keeper looks again later. A bridge
// a killed dswap left is put right as by dswap sync.
func (s *Swapper) Keep(ctx context.Context, name string) (*swap.Synced, error) {
	svc, err := s.Cluster.SwarmService(ctx, name)
	if err != nil {
		return nil, err
	}
	if v, held := svc.Labels[LockLabel]; held {
		if stale, h := takeover(v, s.Now(), holderGone); !stale {
			return nil, fmt.Errorf("service %s: a swap holds its lock (%s): %w", name, h.holder, lock.ErrHeld)
		}
	}
	if _, paused, err := s.pausedCanary(name); err != nil || paused {
		// A paused canary is left as it is until promote or abort.
		return nil, err
	}
	// Listed, not inspected: the keeper asks every second, and the
	// Engine logs every inspect of a missing service as an error.
	names, err := s.Cluster.SwarmServiceNames(ctx)
	if err != nil {
		return nil, err
	}
	bridgeLeft := slices.Contains(names, BridgeName(name))
	if !bridgeLeft {
		p, err := s.routingPlan(ctx, svc, svc.Image)
		if err != nil {
			return nil, err
		}
		tasks, err := s.Cluster.SwarmTasks(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		want, err := targets(runningAny(tasks), p.network)
		if err != nil {
			return nil, err
		}
		routed, _, err := s.routedHosts(name)
		if err != nil {
			return nil, err
		}
		var hosts []string
		for _, t := range want {
			hosts = append(hosts, t.Host)
		}
		slices.Sort(hosts)
		if slices.Equal(hosts, routed) {
			return nil, nil
		}
	}
	s.LockWait = 0
	synced, err := s.Sync(ctx, name, swap.Overrides{})
	if err != nil || len(synced) == 0 {
		return nil, err
	}
	return &synced[0], nil
}

// Routed lists the Swarm services that have a route file: those dswap
// routes, which the keeper follows.
func Routed(ctx context.Context, c Cluster, routes swap.Routes) ([]string, error) {
	node, err := c.SwarmNode(ctx)
	if err != nil || !node.Manager {
		return nil, err
	}
	names, err := c.SwarmServiceNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if _, ok, err := routes.Read(swap.KeyOf(n)); err == nil && ok {
			out = append(out, n)
		}
	}
	return out, nil
}
