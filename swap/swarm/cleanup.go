package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// gossipDelay is what Swarm waits, after taking a task out of the
// service's DNS and virtual IP, before it stops the container.
const gossipDelay = 2 * time.Second

// removeBridge drains the bridge and removes it: scaled to zero with the
// drain window as its stop grace period (its tasks get their stop signal
// and finish the requests they hold), then removed once its tasks are
// down. It runs even after ctx ended.
func (s *Swapper) removeBridge(ctx context.Context, bridge *engine.SwarmService) error {
	ctx = context.WithoutCancel(ctx)
	s.enter(swap.PhaseRemove, "draining and removing the bridge service", "bridge", bridge.Name, "drain", s.cfg.Drain)
	now, err := s.Cluster.SwarmService(ctx, bridge.ID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.Cluster.UpdateSwarmService(ctx, now.Drained(s.cfg.Drain)); err != nil && !isNotFound(err) {
		return fmt.Errorf("scaling the bridge service %s to 0: %w", bridge.Name, err)
	}
	if err := s.waitGone(ctx, now.ID, s.cfg.Drain+gossipDelay+15*time.Second); err != nil {
		s.log.Warn("the bridge's tasks did not stop in time; removing it anyway", "bridge", bridge.Name, "error", err)
	}
	if err := s.Cluster.RemoveSwarmService(ctx, now.ID); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing the bridge service %s: %w", bridge.Name, err)
	}
	return nil
}
