package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

func TestKeepFollowsARescheduledTaskAndWritesOnlyOnChange(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.swapper().Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	before := w.routedHosts(t)

	synced, err := w.swapper().Keep(ctx, "web")
	require.NoError(t, err)
	assert.Nil(t, synced, "nothing changed, nothing written")
	updates := len(w.cluster.updates)
	assert.Len(t, w.traefik.applied, 1)

	w.cluster.kill("web", 2)
	synced, err = w.swapper().Keep(ctx, "web")
	require.NoError(t, err)
	require.NotNil(t, synced)
	after := w.routedHosts(t)
	assert.Len(t, after, 3)
	assert.NotEqual(t, before, after)
	tasks, err := w.cluster.SwarmTasks(ctx, w.svc.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, addresses(runningAny(tasks)), after)
	assert.Greater(t, len(w.cluster.updates), updates, "the rewrite took the lock")

	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.NotContains(t, svc.Labels, LockLabel)
}

func TestKeepLeavesAServiceMidSwapAlone(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	held := lockValue{holder: "other:9 dswap up", since: time.Now()}.String()
	s := w.cluster.byName("web")
	w.cluster.services[s.ID] = s.WithLabels(map[string]*string{LockLabel: &held})
	_, err := w.swapper().Keep(ctx, "web")
	require.ErrorIs(t, err, lock.ErrHeld)
	assert.Empty(t, w.traefik.applied)
}

func TestRoutedListsTheSwarmServicesWithARouteFile(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	other := webSpec("other:v1")
	other.Name = "api"
	w.cluster.addService(other)
	_, err := w.swapper().Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	refs, err := Routed(ctx, w.cluster, w.routes)
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, refs)
}
