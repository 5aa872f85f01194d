package server

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

type fakeSwarmKeeper struct {
	mu    sync.Mutex
	refs  []string
	kept  []string
	lists int
}

func (f *fakeSwarmKeeper) SwarmRefs(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return f.refs, nil
}

func (f *fakeSwarmKeeper) KeepSwarm(_ context.Context, ref string, _ *slog.Logger) (swap.Reconciled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kept = append(f.kept, ref)
	return swap.Reconciled{Service: ref, Upkeep: swap.UpkeepRouted}, nil
}

func (f *fakeSwarmKeeper) keptCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.kept)
}

// Swarm services raise no events here: the keeper polls them, and sends
// them to the Swarm side, never to the container side.
func TestKeeperPollsRoutedSwarmServices(t *testing.T) {
	up := &fakeUpkeeper{managed: []string{"proj/web"}, events: make(chan engine.Event)}
	sk := &fakeSwarmKeeper{refs: []string{"shop_web"}}
	k := &Keeper{Upkeeper: up, Swarm: sk, SwarmPoll: 20 * time.Millisecond, Quiet: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = k.Run(ctx) }()
	defer func() { cancel(); <-done }()

	require.Eventually(t, func() bool { return sk.keptCount() >= 3 }, 5*time.Second, 10*time.Millisecond, "the Swarm service is looked at again and again")
	sk.mu.Lock()
	for _, ref := range sk.kept {
		assert.Equal(t, "shop_web", ref)
	}
	sk.mu.Unlock()
	for _, ref := range up.reconciled() {
		assert.Equal(t, "proj/web", ref, "a Swarm service never goes to the container side")
	}
}
