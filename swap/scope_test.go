package swap

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// otherStack adds a running container of service web that another
// Traefik routes: same labels, newer, on that Traefik's network only.
func otherStack(w *world, name string, opts ...func(*container.InspectResponse)) {
	c := inspected(name, "myapp:v1", append([]func(*container.InspectResponse){func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels["dswap.drain"] = "5s"
		r.HostConfig.NetworkMode = "other-edge"
		r.NetworkSettings.Networks = map[string]*network.EndpointSettings{"other-edge": {IPAddress: "10.9.0.9"}}
	}}, opts...)...)
	w.containers[c.ID] = c
}

func TestSyncLeavesTheSameNamedServiceOfAnotherTraefikAlone(t *testing.T) {
	w := newWorld()
	route := w.routes["web"]
	otherStack(w, "web-b")
	synced, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	require.Len(t, synced, 1)
	assert.Equal(t, []string{"web"}, synced[0].Containers)
	require.Contains(t, w.containers, "id-web-b", "the other Traefik's container is not removed")
	assert.True(t, w.containers["id-web-b"].State.Running, "nor stopped")
	for _, line := range w.log {
		assert.NotContains(t, line, "web-b")
	}
	was, err := labels.ReadRouteFile([]byte(route))
	require.NoError(t, err)
	now, err := labels.ReadRouteFile([]byte(w.routes["web"]))
	require.NoError(t, err)
	assert.Equal(t, was.Servers, now.Servers, "only this Traefik's container is routed")
}

func TestUpDoesNotCopyOrStopTheSameNamedServiceOfAnotherTraefik(t *testing.T) {
	w := newWorld()
	otherStack(w, "web-b")
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	require.Contains(t, w.containers, "id-web-b")
	assert.True(t, w.containers["id-web-b"].State.Running, "the other Traefik's container still runs")
	assert.Contains(t, w.routes["web"], "web-2")
	assert.NotContains(t, w.routes["web"], "web-b")
	assert.Equal(t, "web", w.containers["id-web-2"].Labels[labels.PreviousContainerLabel], "the new container copies web, not the newer web-b")
}

func TestAStoppedOrCreatedContainerOfAnotherTraefikIsNoLeftover(t *testing.T) {
	w := newWorld()
	otherStack(w, "web-b-new", func(r *container.InspectResponse) {
		// The new container of the other stack's swap, not started yet.
		r.State = &container.State{Status: "created"}
		r.Config.Labels[labels.CreatedByLabel] = labels.CreatedByValue
		r.Config.Labels[labels.PreviousContainerLabel] = "web-b"
	})
	_, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Contains(t, w.containers, "id-web-b-new", "not removed as a leftover of this service's swap")
}

func TestACreatedContainerOnPartOfItsNetworksIsStillThisTraefiks(t *testing.T) {
	// A dswap killed between creating the new container (on its first
	// network) and connecting it to Traefik's leaves it on neither of
	// Traefik's networks; it was made from web, so it is web's leftover.
	w := newWorld()
	left := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels[labels.CreatedByLabel] = labels.CreatedByValue
		r.Config.Labels[labels.PreviousContainerLabel] = "web"
		r.State = &container.State{Status: "created"}
		r.HostConfig.NetworkMode = "appnet"
		r.NetworkSettings.Networks = map[string]*network.EndpointSettings{"appnet": {}}
	})
	w.containers[left.ID] = left
	_, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.NotContains(t, w.containers, "id-web-2", "the leftover is removed")
}

func TestAServiceOnlyAnotherTraefikReachesIsRefused(t *testing.T) {
	w := newWorld()
	delete(w.containers, "id-web")
	delete(w.routes, "web")
	otherStack(w, "web-b")
	for name, run := range map[string]func() error{
		"sync": func() error { _, err := w.swapper().Sync(context.Background(), "web", Overrides{}); return err },
		"up": func() error {
			_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
			return err
		},
	} {
		err := run()
		require.Error(t, err, name)
		assert.ErrorIs(t, err, ErrBadInput, name)
		assert.Contains(t, err.Error(), "web-b (on other-edge) share no network with Traefik (on edge)", name)
		assert.Contains(t, err.Error(), "docker network connect edge", name)
	}
	assert.True(t, w.containers["id-web-b"].State.Running)
	assert.Len(t, w.containers, 1, "nothing created")
	assert.Empty(t, w.routes, "nothing routed")
}

func TestSyncOfEveryServiceSkipsThoseOfAnotherTraefik(t *testing.T) {
	w := newWorld()
	c := inspected("api-b", "myapp:v1", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "api"
		r.HostConfig.NetworkMode = "other-edge"
		r.NetworkSettings.Networks = map[string]*network.EndpointSettings{"other-edge": {IPAddress: "10.9.0.8"}}
	})
	w.containers[c.ID] = c
	synced, err := w.swapper().Sync(context.Background(), "", Overrides{})
	require.NoError(t, err)
	require.Len(t, synced, 1)
	assert.Equal(t, "web", synced[0].Service)
	assert.NotContains(t, w.routes, "api")
}

func TestHostTraefikScopesNothing(t *testing.T) {
	// A Traefik on the host reaches every container by IP: networks tell
	// nothing, so every container of the name is the service's, as before.
	w := newWorld()
	otherStack(w, "web-b")
	sw := w.swapper()
	sw.Addressing = Addressing{}
	all, err := fakeDocker{w}.List(context.Background(), engine.ListFilter{All: true})
	require.NoError(t, err)
	svc, err := sw.findService(all, "web", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"web", "web-b"}, names(svc.Running))
}
