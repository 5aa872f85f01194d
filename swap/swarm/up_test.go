package swarm

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

func TestUpMovesTrafficThroughTheBridgeAndKeepsTheServiceAsTheStackWroteIt(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.swapper().Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	v1Hosts := w.routedHosts(t)
	require.Len(t, v1Hosts, 3)
	before := w.svc.WithImage("myapp:v2", nil).SpecJSON()

	// What the route names while the service itself is being updated.
	var routedDuringUpdate []string
	w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
		if s.Name == "web" && s.Image == "myapp:v2" {
			routedDuringUpdate = w.routedHosts(t)
		}
	}
	res, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)

	assert.Equal(t, "myapp:v1", res.FromImage)
	assert.Equal(t, []string{"web.1", "web.2", "web.3"}, res.New)
	// Flip 1 named the bridge's three tasks, flip 2 the service's three
	// new ones: never fewer than three servers.
	require.Len(t, w.traefik.applied, 3, "sync, flip 1, flip 2")
	for _, servers := range w.traefik.applied {
		assert.Len(t, servers, 3)
	}
	assert.Len(t, routedDuringUpdate, 3)
	assert.Empty(t, intersect(routedDuringUpdate, v1Hosts), "the old tasks were unrouted before the service was updated")

	after, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", after.Image)
	assert.NotContains(t, after.Labels, LockLabel, "lock released")
	assert.JSONEq(t, string(before), string(after.SpecJSON()), "only the image (and the stack's record of it) changed")
	assert.Equal(t, "myapp:v2", after.Labels["com.docker.stack.image"])

	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound, "bridge removed")
	assert.Equal(t, []string{BridgeName("web")}, w.cluster.removed)

	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "swapped", entries[0].Result)
	assert.Equal(t, "myapp:v1", entries[0].FromImage)
	assert.Equal(t, "myapp:v2", entries[0].ToImage)
}

func TestTheImageIsPinnedToItsRegistrysDigestAsAStackDeployPinsIt(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.cluster.digests["myapp:v2"] = "sha256:2222"
	res, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2@sha256:2222", res.ToImage)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2@sha256:2222", svc.Image)

	again, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.True(t, again.Noop, "the tag still names the same digest: nothing to swap")
}

func TestBridgeDrainsWithTheDrainWindowBeforeItIsRemoved(t *testing.T) {
	w := newWorld(t)
	var drained *engine.SwarmService
	w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
		if s.Name == BridgeName("web") {
			drained = s
		}
	}
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	require.NotNil(t, drained)
	assert.Equal(t, uint64(0), drained.Replicas)
	require.NotNil(t, drained.StopGracePeriod)
	assert.Equal(t, "1s", drained.StopGracePeriod.String(), "dswap.drain=1s on the service")
}

func TestAFailingBridgeIsRemovedAndTheRouteIsNotTouched(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.swapper().Sync(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	routed := w.routedHosts(t)
	w.cluster.failing["myapp:broken"] = true

	_, err = w.swapper().Up(ctx, swap.Request{Image: "myapp:broken", Service: "web"})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhaseHealth, fe.Phase)
	assert.Contains(t, fe.State, "unhealthy container")
	assert.Contains(t, fe.Logs, "health: not ready")
	assert.Contains(t, fe.Kept, "myapp:v1 (service web) keeps serving")

	assert.Equal(t, routed, w.routedHosts(t), "route untouched")
	assert.Len(t, w.traefik.applied, 1, "only the sync wrote")
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel)
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)

	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "failed", entries[0].Result)
}

func TestABridgeTaskThatEndsCountsAsFailed(t *testing.T) {
	w := newWorld(t)
	w.cluster.completing["myapp:exits"] = true
	s := w.swapper()
	start := time.Now()
	_, err := s.Up(context.Background(), swap.Request{Image: "myapp:exits", Service: "web"})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Reason.Error(), "stopped while the service should run")
	assert.Less(t, time.Since(start), 10*time.Second, "not the health timeout")
}

func TestAFlipTraefikDoesNotConfirmRemovesTheBridge(t *testing.T) {
	w := newWorld(t)
	w.traefik.refuse = true
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhaseFlip, fe.Phase)
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	_, err = w.cluster.SwarmService(context.Background(), BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
}

func TestUpToTheRunningImageOnlyRoutes(t *testing.T) {
	w := newWorld(t)
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v1", Service: "web"})
	require.NoError(t, err)
	assert.True(t, res.Noop)
	assert.Len(t, w.routedHosts(t), 3)
	assert.Empty(t, w.cluster.removed)
}

func TestRollbackGoesBackToTheImageBeforeTheLastSwap(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	res, err := w.swapper().Rollback(ctx, "web", swap.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", res.ToImage)
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
}

func TestSettingsThatDoNotApplyToSwarmAreRefused(t *testing.T) {
	keep, order := durationP("30s"), "stop-first"
	for name, over := range map[string]swap.Overrides{
		"keep-connections": {KeepConnections: keep},
		"stop-first":       {Order: &order},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web", Overrides: over})
			require.ErrorIs(t, err, swap.ErrBadInput)
			assert.Contains(t, err.Error(), "do not apply to it yet")
			svc, err := w.cluster.SwarmService(context.Background(), "web")
			require.NoError(t, err)
			assert.Equal(t, "myapp:v1", svc.Image)
			assert.NotContains(t, svc.Labels, LockLabel, "the lock is released on a refusal")
		})
	}
}

func TestServiceWithoutANetworkSharedWithTraefikIsRefused(t *testing.T) {
	w := newWorld(t)
	s := w.swapper()
	s.TraefikNetworks = map[string]string{"other": "edge"}
	_, err := s.Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.ErrorIs(t, err, swap.ErrBadInput)
	assert.Contains(t, err.Error(), "shares no network with Traefik")
	assert.Contains(t, err.Error(), "docker network connect")
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}

func durationP(s string) *time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return &d
}

// tagOnlyImages knows images by tag only, as an image built on the manager
// and pushed from elsewhere is.
type tagOnlyImages struct{ fakeImages }

func (i tagOnlyImages) InspectImage(ctx context.Context, ref string) (*engine.Image, error) {
	if strings.Contains(ref, "@") {
		return nil, fmt.Errorf("no such image: %s: %w", ref, engine.ErrNotFound)
	}
	return i.fakeImages.InspectImage(ctx, ref)
}

func TestAPinnedImageIsInspectedByItsTagHere(t *testing.T) {
	w := newWorld(t)
	s := w.swapper()
	s.Images = tagOnlyImages{}
	img, err := s.inspectImage(context.Background(), "registry.local:5000/myapp:v2@sha256:"+strings.Repeat("ab", 32))
	require.NoError(t, err)
	assert.Equal(t, "sha256:registry.local:5000/myapp:v2", img.ID)
}

func TestTheReportOfAnEarlierUpdateDoesNotFailTheSwap(t *testing.T) {
	w := newWorld(t)
	w.cluster.slow = true
	s := w.cluster.byName("web")
	s.UpdateState, s.UpdateMessage, s.UpdateStarted = "rollback_completed", "rollback completed", time.Now().Add(-time.Hour)
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
}

func TestAPausedUpdateOfTheServiceLeavesTheBridgeServing(t *testing.T) {
	w := newWorld(t)
	w.cluster.slow = true
	w.cluster.afterUpdate = func(f *fakeCluster, s *engine.SwarmService) {
		if s.Name == "web" && s.Image == "myapp:v2" {
			f.mu.Lock()
			defer f.mu.Unlock()
			cur := f.services[s.ID]
			cur.UpdateState, cur.UpdateMessage, cur.UpdateStarted = "paused", "update paused due to failure", time.Now()
		}
	}
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Reason.Error(), "ended paused: update paused due to failure")
	assert.Contains(t, fe.Kept, "serves on the bridge service web-dswap")
	_, err = w.cluster.SwarmService(context.Background(), BridgeName("web"))
	assert.NoError(t, err, "the bridge stays: it serves")
}
