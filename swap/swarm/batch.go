package swarm

import (
	"context"
	"fmt"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

// Batches (--parallelism k) move the traffic k replicas at a time, as on
// one host: batch i scales the bridge to min(N, i·k) tasks, waits until
// they run healthy, and routes every bridge task plus N − i·k of the
// service's old tasks, confirmed through Traefik. The last batch's route
// names the bridge alone: that is flip 1, and the swap goes on as without
// batches (the service is updated, flip 2, the bridge removed).
//
// The old tasks taken out of the route are not stopped: they keep running,
// idle, until the service itself is updated. Swarm cannot be told which
// tasks a scale-down stops: its replicated orchestrator picks them itself
// (swarmkit manager/orchestrator/replicated/services.go, reconcile: the
// slots are sorted by running state, then by how many copies of the
// service their node runs, slot number last), and the agent of a task it
// stops takes the task out of the service's DNS and virtual IP, waits 2 s
// for gossip and sends SIGTERM (moby daemon/cluster/executor/container/
// controller.go, Shutdown), while Traefik's route names tasks by address
// and keeps sending them requests. So dswap, which chooses which old tasks
// leave the route (the highest slots first), cannot make Swarm stop those
// and no other; stopping a routed task drops requests. The extra tasks at
// the peak are N, as without batches (see docs/swarm.md).

// parallelism is the --parallelism of a Swarm swap: the value the flag or
// DSWAP_PARALLELISM sets; unset, 0 (all at once), as Swarm swaps were
// before batches: the container path's default of 1 does not apply.
func parallelism(over swap.Overrides, lbl labels.Settings) int {
	return value(settings.Merge(over, lbl.Overrides).Parallelism)
}

// refuseBatchSettings are the batch settings a Swarm swap does not do:
// a batch that fails always undoes every batch (the service itself is
// not touched until the last one).
func refuseBatchSettings(set swap.Overrides) []string {
	var refused []string
	if set.FailureAction != nil && *set.FailureAction == "pause" {
		refused = append(refused, "--failure-action pause (a Swarm swap undoes every batch when one fails)")
	}
	if set.MaxFailureRatio != nil && *set.MaxFailureRatio > 0 {
		refused = append(refused, "--max-failure-ratio (a Swarm swap undoes every batch when one fails)")
	}
	return refused
}

// batchSize is how many replicas a batch moves: --parallelism, or all of
// them when it is 0 or above the replica count.
func (s *Swapper) batchSize(p *plan) int {
	k := s.cfg.Update.Parallelism
	if k <= 0 || k > p.replicas {
		return p.replicas
	}
	return k
}

// batchCount is the number of batches.
func (s *Swapper) batchCount(p *plan) int {
	k := s.batchSize(p)
	return (p.replicas + k - 1) / k
}

// batched says whether the swap runs in more than one batch.
func (s *Swapper) batched(p *plan) bool { return s.batchCount(p) > 1 }

// batches takes the bridge, which runs its first batch's tasks, to all
// p.replicas tasks, a batch at a time: after each batch but the last, the
// route names the bridge's tasks and as many of the service's old tasks as
// make p.replicas. It returns the bridge's tasks, all running healthy;
// the last batch's route (the bridge alone, flip 1) is the caller's. A
// failure undoes every batch (see undoBatches).
func (s *Swapper) batches(ctx context.Context, p *plan, bridge *engine.SwarmService, tasks []engine.SwarmTask) ([]engine.SwarmTask, error) {
	size, count := s.batchSize(p), s.batchCount(p)
	if count > 1 {
		s.log.Info("swapping in batches", "phase", s.phase.String(), "replicas", p.replicas, "batch", size, "batches", count, "delay", s.cfg.Update.Delay)
	}
	for i := 1; i < count; i++ {
		if err := s.routeBatch(ctx, p, i, count, tasks); err != nil {
			return nil, s.undoBatches(ctx, p, bridge, i, count, err)
		}
		if d := s.cfg.Update.Delay; d > 0 {
			s.log.Info("waiting between batches", "phase", s.phase.String(), "delay", d)
			if err := sleep(ctx, d); err != nil {
				return nil, s.undoBatches(ctx, p, bridge, i+1, count, fmt.Errorf("interrupted between batches: %w", err))
			}
		}
		next := min(p.replicas, (i+1)*size)
		var err error
		if tasks, err = s.scaleBridge(ctx, p, bridge, i+1, count, next); err != nil {
			return nil, s.undoBatches(ctx, p, bridge, i+1, count, err)
		}
	}
	return tasks, nil
}

// routeBatch routes batch i: the bridge's tasks and the service's old
// tasks with the lowest slots, p.replicas in all. The old tasks left out
// keep running, unrouted.
func (s *Swapper) routeBatch(ctx context.Context, p *plan, i, count int, bridgeTasks []engine.SwarmTask) error {
	svcTasks, err := s.Cluster.SwarmTasks(ctx, p.svc.ID)
	if err != nil {
		return fmt.Errorf("listing service %s's tasks: %w", p.name, err)
	}
	old := runningAny(svcTasks)
	keep := max(p.replicas-len(bridgeTasks), 0)
	if len(old) < keep {
		s.log.Warn("fewer of the service's old tasks run than the batch keeps routed; the route names those that run", "phase", s.phase.String(), "running", len(old), "wanted", keep)
		keep = len(old)
	}
	servers := append(append([]engine.SwarmTask(nil), bridgeTasks...), old[:keep]...)
	s.enter(swap.PhaseFlip, fmt.Sprintf("batch %d of %d: routing the bridge's tasks and the service's old tasks left", i, count),
		"bridge tasks", len(bridgeTasks), "old tasks", keep, "unrouted old tasks", taskNames(p.name, old[keep:]))
	if _, err := s.route(ctx, p, servers); err != nil {
		return fmt.Errorf("routing batch %d: %w", i, err)
	}
	return nil
}

// scaleBridge scales the bridge to replicas tasks for batch i and waits
// until they all run healthy.
func (s *Swapper) scaleBridge(ctx context.Context, p *plan, bridge *engine.SwarmService, i, count, replicas int) ([]engine.SwarmTask, error) {
	s.enter(swap.PhaseHealth, fmt.Sprintf("batch %d of %d: scaling the bridge service up and waiting until its new tasks run healthy", i, count),
		"bridge", bridge.Name, "replicas", replicas, "timeout", s.healthTimeout(p))
	return s.resizeBridge(ctx, p, bridge, replicas)
}

// resizeBridge scales the bridge to replicas tasks and waits until they
// all run healthy. The tasks it ran stay as they are: only the replica
// count changes.
func (s *Swapper) resizeBridge(ctx context.Context, p *plan, bridge *engine.SwarmService, replicas int) ([]engine.SwarmTask, error) {
	now, err := s.Cluster.SwarmService(ctx, bridge.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the bridge service %s: %w", bridge.Name, err)
	}
	if err := s.Cluster.UpdateSwarmService(ctx, now.Scaled(uint64(replicas))); err != nil {
		return nil, fmt.Errorf("scaling the bridge service %s to %d: %w", bridge.Name, replicas, err)
	}
	return s.waitReady(ctx, p, bridge.ID, replicas)
}

// undoBatches undoes a swap whose batch i failed (cause): the route goes
// back to all the service's tasks, which never stopped, confirmed through
// Traefik; then the bridge, which served, is drained and removed. When
// the route cannot be put back, the bridge stays (it serves) and the error
// says how to put it right.
func (s *Swapper) undoBatches(ctx context.Context, p *plan, bridge *engine.SwarmService, i, count int, cause error) error {
	ctx = context.WithoutCancel(ctx)
	fe := s.failed(ctx, p, bridge, cause)
	fe.Reason = fmt.Errorf("batch %d of %d: %w", i, count, cause)
	s.enter(swap.PhaseRollback, "moving the route back to all the service's old tasks", "batch", i)
	stuck := fmt.Sprintf("the route still names both versions: the bridge service %s (%s) and service %s's old tasks (%s), all running. Run dswap sync %s to put the route back on the old tasks and remove the bridge", bridge.Name, p.image, p.name, p.fromImage, p.name)
	if !s.backToService(ctx, p, bridge, fe, stuck) {
		s.enter(swap.PhaseFailed, "swap failed; the route could not be put back on the old tasks")
		return fe
	}
	s.enter(swap.PhaseFailed, "swap failed; rolled back")
	return fe
}

// routeService routes all the running tasks of the service p.name,
// confirmed through Traefik, and returns how many.
func (s *Swapper) routeService(ctx context.Context, p *plan) (int, error) {
	svcTasks, err := s.Cluster.SwarmTasks(ctx, p.svc.ID)
	if err != nil {
		return 0, fmt.Errorf("listing service %s's tasks: %w", p.name, err)
	}
	old := runningAny(svcTasks)
	if len(old) == 0 {
		return 0, fmt.Errorf("service %s runs no task to route", p.name)
	}
	if _, err := s.route(ctx, p, old); err != nil {
		return 0, fmt.Errorf("moving the route back to service %s's tasks: %w", p.name, err)
	}
	return len(old), nil
}

// backToService moves the route back to all the service's tasks, which
// never stopped, confirmed through Traefik, then drains and removes the
// bridge (dropBridge), and says in fe.Kept (and fe.RollbackErr) what
// serves after. When the route cannot be moved back, the bridge still
// serves and is left: fe.Kept is then stuck, and it returns false.
func (s *Swapper) backToService(ctx context.Context, p *plan, bridge *engine.SwarmService, fe *swap.FailedError, stuck string) bool {
	n, ok := s.routeBack(ctx, p, fe, stuck)
	if ok {
		s.dropBridge(ctx, p, bridge, fe, n)
	}
	return ok
}

// routeBack is backToService's first half: the route back on the
// service's n tasks, or fe.Kept = stuck and false.
func (s *Swapper) routeBack(ctx context.Context, p *plan, fe *swap.FailedError, stuck string) (n int, ok bool) {
	n, err := s.routeService(ctx, p)
	if err != nil {
		fe.RollbackErr, fe.Kept = err, stuck
		return 0, false
	}
	return n, true
}

// dropBridge is backToService's second half, once the route is back on
// the service's n tasks: the bridge drained and removed.
func (s *Swapper) dropBridge(ctx context.Context, p *plan, bridge *engine.SwarmService, fe *swap.FailedError, n int) {
	fe.Kept = fmt.Sprintf("%s (service %s) serves again on all its %d tasks, which stood by: the route is back on them (confirmed) and the bridge service %s is drained and removed", p.fromImage, p.name, n, bridge.Name)
	if err := s.removeBridge(ctx, bridge); err != nil {
		fe.RollbackErr = err
		fe.Kept = fmt.Sprintf("%s (service %s) serves again on all its %d tasks (the route is back on them, confirmed); the bridge service %s is left, unrouted: the next dswap of the service removes it, or docker service rm %s", p.fromImage, p.name, n, bridge.Name, bridge.Name)
	}
}
