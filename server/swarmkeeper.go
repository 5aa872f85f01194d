package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

// SwarmKeeper is what the keeper needs to follow routed Swarm services.
// No Docker event announces a task that Swarm restarts or reschedules on
// another node, so the keeper looks at them every SwarmPoll instead.
type SwarmKeeper interface {
	// SwarmRefs lists the Swarm services dswap routes.
	SwarmRefs(ctx context.Context) ([]string, error)
	// KeepSwarm rewrites a Swarm service's route when its running tasks
	// changed; a swap in progress gives an error wrapping lock.ErrHeld.
	KeepSwarm(ctx context.Context, ref string, log *slog.Logger) (swap.Reconciled, error)
}

// swarmKeyPrefix marks a Swarm service's key in the keeper's debouncer; no
// container service's ref contains a ':'.
const swarmKeyPrefix = "swarm:"

func swarmRef(key string) (string, bool) { return strings.CutPrefix(key, swarmKeyPrefix) }

// addSwarm queues every routed Swarm service for a look.
func (k *Keeper) addSwarm(ctx context.Context, deb *debouncer) {
	refs, err := k.Swarm.SwarmRefs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			k.Log.Warn("listing routed Swarm services", "error", err)
		}
		return
	}
	now := k.clock.Now()
	for _, ref := range refs {
		deb.add(swarmKeyPrefix+ref, now)
	}
}

// SwarmRefs lists the Swarm services dswap routes here.
func (b *SwapBackend) SwarmRefs(ctx context.Context) ([]string, error) {
	if b.Swarm == nil {
		return nil, nil
	}
	return swarmswap.Routed(ctx, b.Swarm.Cluster, b.Swarm.Routes)
}

// KeepSwarm puts a Swarm service's route right, for the keeper.
func (b *SwapBackend) KeepSwarm(ctx context.Context, ref string, log *slog.Logger) (swap.Reconciled, error) {
	out := swap.Reconciled{Service: ref, Upkeep: swap.UpkeepIdle}
	if b.Swarm == nil {
		return out, nil
	}
	start := time.Now()
	d := *b.Swarm
	d.Log = log
	synced, err := swarmswap.New(d).Keep(ctx, ref)
	if err != nil || synced == nil {
		return out, err
	}
	out.Upkeep, out.Containers, out.Took = swap.UpkeepRouted, synced.Containers, time.Since(start)
	return out, nil
}
