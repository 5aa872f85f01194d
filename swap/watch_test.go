package swap

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

func TestReconcileLeavesARouteThatIsAlreadyRight(t *testing.T) {
	w := newWorld()
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepUnchanged, got.Upkeep)
	assert.Empty(t, w.log, "no write, no confirmation: an identical rewrite would cost a Traefik reload")
}

func TestReconcileRoutesAServiceWithoutARoute(t *testing.T) {
	w := newWorld()
	delete(w.routes, "web")
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepRouted, got.Upkeep)
	assert.Equal(t, []string{"web"}, got.Containers)
	assert.Equal(t, []string{"route web http://web:8080", "confirm [http://web:8080] err=<nil>"}, w.log)
}

func TestReconcileWaitsForAStartingContainer(t *testing.T) {
	w := newWorld()
	delete(w.routes, "web")
	w.containers["id-web"].State.Health = "starting"
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepWaiting, got.Upkeep)
	assert.Empty(t, w.log)
}

func TestReconcileRoutesAContainerTheUserAdded(t *testing.T) {
	w := newWorld()
	// `docker compose up --scale`-like: a second container, not made by
	// dswap, not in the route. It is routed, never stopped.
	second := inspected("web-b", "myapp:v1", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
	})
	second.Created = w.containers["id-web"].Created.Add(1)
	w.containers[second.ID] = second
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepRouted, got.Upkeep)
	assert.Empty(t, got.Repaired)
	assert.Contains(t, w.log, "route web http://web:8080,http://web-b:8080")
	assert.Contains(t, w.containers, "id-web-b")
}

func TestReconcileFinishesAnInterruptedSwap(t *testing.T) {
	w := newWorld()
	orphan := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels["dswap.managed-by"] = "dswap"
		r.Config.Labels["dswap.swap.previous"] = "web"
		r.Config.Labels["dswap.drain"] = "5s"
	})
	w.containers[orphan.ID] = orphan
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []string{"web-2"}, got.Repaired)
	assert.Equal(t, UpkeepUnchanged, got.Upkeep, "the old route was right all along")
	assert.Equal(t, []string{"confirm [http://web:8080] err=<nil>", "stop id-web-2 5s", "remove id-web-2"}, w.log, "stopped once Traefik shows the route without it")
}

func TestReconcileLeavesAServiceWithNothingRunning(t *testing.T) {
	w := newWorld()
	w.containers["id-web"].State = engine.State{Status: "exited"}
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepIdle, got.Upkeep)
	assert.Empty(t, w.log)

	got, err = w.swapper().Reconcile(context.Background(), "proj/gone", Overrides{})
	require.NoError(t, err, "a service removed meanwhile is not an error")
	assert.Equal(t, UpkeepIdle, got.Upkeep)
}

func TestManagedRefs(t *testing.T) {
	w := newWorld()
	c := ctr("proj_api_1", "api:v1", inCompose("proj", "api", "1"), withLabel("dswap.enable", "true"), onNetworks("edge"))
	w.containers[c.ID] = c
	u := ctr("other", "other:v1", onNetworks("edge"))
	w.containers[u.ID] = u
	far := ctr("far", "far:v1", withLabel("dswap.enable", "true"), onNetworks("another-traefiks-net"))
	w.containers[far.ID] = far
	refs, err := w.swapper().ManagedRefs(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"proj/api", "web"}, refs, "only what this Traefik reaches")
}

func TestReconcileLeavesServicesOfAnotherTraefikAlone(t *testing.T) {
	w := newWorld()
	// Mid-swap under another Traefik (another routes directory, other
	// locks): its new container is created but not started yet.
	old := ctr("far", "far:v1", withLabel("dswap.service", "far"), onNetworks("another-net"))
	fresh := ctr("far-2", "far:v2", withLabel("dswap.service", "far"), withLabel("dswap.managed-by", "dswap"), onNetworks("another-net"), stopped())
	fresh.State.Status = "created"
	w.containers[old.ID], w.containers[fresh.ID] = old, fresh
	got, err := w.swapper().Reconcile(context.Background(), "far", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepElsewhere, got.Upkeep)
	assert.Empty(t, w.log, "nothing routed, nothing removed")
}

func TestRefOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		image  string
		ref    string
		ok     bool
	}{
		{"dswap.service", map[string]string{"dswap.service": "web"}, "myapp:v1", "web", true},
		{"enabled, by image", map[string]string{"dswap.enable": "true"}, "registry.test/acme/app:v1", "registry.test/acme/app", true},
		{"compose", map[string]string{"dswap.enable": "true", "com.docker.compose.project": "p", "com.docker.compose.service": "web"}, "x", "p/web", true},
		{"compose with dswap.service", map[string]string{"dswap.service": "api", "com.docker.compose.project": "p", "com.docker.compose.service": "web"}, "x", "p/api", true},
		{"not managed", map[string]string{"com.docker.compose.project": "p", "com.docker.compose.service": "web"}, "x", "", false},
		{"enable=false", map[string]string{"dswap.enable": "false"}, "x", "", false},
		{"one-off run", map[string]string{"dswap.enable": "true", "com.docker.compose.project": "p", "com.docker.compose.service": "web", "com.docker.compose.oneoff": "True"}, "x", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, ok := RefOf(tc.labels, tc.image)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.ref, ref)
		})
	}
}

// hostile is a container that claims service web with a label and routes
// differently: no middleware, and a router of its own.
func hostile(w *world) *engine.Container {
	evil := inspected("evil", "evil:v1", func(r *container.InspectResponse) {
		r.Config.Labels = map[string]string{
			"dswap.service":                                      "web",
			"traefik.http.routers.web.rule":                      "PathPrefix(`/`)",
			"traefik.http.routers.web.service":                   "web",
			"traefik.http.services.web.loadbalancer.server.port": "8080",
		}
	})
	evil.Created = w.containers["id-web"].Created.Add(1)
	w.containers[evil.ID] = evil
	return evil
}

func TestReconcileDoesNotRouteAContainerThatRoutesDifferently(t *testing.T) {
	w := newWorld()
	route := w.routes["web"]
	hostile(w)
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepUnchanged, got.Upkeep)
	assert.Equal(t, route, w.routes["web"], "web's route is untouched")
	assert.Empty(t, w.log, "evil is neither routed nor stopped")
	assert.Contains(t, w.containers, "id-evil")
}

func TestSyncDoesNotRouteAContainerThatRoutesDifferently(t *testing.T) {
	w := newWorld()
	route := w.routes["web"]
	hostile(w)
	_, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	// Sync may rewrite the file (with a new generation marker, say); what
	// it routes must not change.
	was, err := labels.ReadRouteFile([]byte(route))
	require.NoError(t, err)
	now, err := labels.ReadRouteFile([]byte(w.routes["web"]))
	require.NoError(t, err)
	assert.Equal(t, was.Routers, now.Routers, "web's routers are its own")
	assert.Equal(t, was.Middlewares, now.Middlewares, "web's middlewares are its own")
	assert.Equal(t, was.Servers, now.Servers, "only web's server")
	assert.Contains(t, w.containers, "id-evil", "a container dswap does not know is not stopped")
	for _, line := range w.log {
		assert.NotContains(t, line, "evil")
	}
}

func TestSyncRefusesContainersThatDisagreeWithoutARoute(t *testing.T) {
	w := newWorld()
	delete(w.routes, "web")
	hostile(w)
	_, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "different Traefik labels")
	assert.NotContains(t, w.routes, "web")
}

func TestUpDoesNotCopyOrStopAContainerThatRoutesDifferently(t *testing.T) {
	w := newWorld()
	hostile(w)
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Contains(t, w.containers, "id-evil", "not stopped")
	assert.NotContains(t, w.routes["web"], "evil")
	assert.Contains(t, w.routes["web"], "web-2")
	assert.Equal(t, "myapp:v2", w.containers["id-web-2"].Image, "the new container copies web, not evil")
}
