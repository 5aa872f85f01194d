package swap

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A container that answers to a routed container's name on Traefik's
// network, started after the route was written, moves the route to the
// routed container's IP at the next look, and back to its name once the
// namesake is gone.
func TestReconcileMovesARouteOffATakenName(t *testing.T) {
	w := newWorld()
	squat := inspected("squat", "other:v1", func(r *container.InspectResponse) {
		r.NetworkSettings.Networks["edge"].IPAddress = "10.0.0.66"
		r.NetworkSettings.Networks["edge"].Aliases = []string{"web"}
	})
	w.containers[squat.ID] = squat

	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepRouted, got.Upkeep)
	assert.Equal(t, []string{"route web http://10.0.0.9:8080", "confirm [http://10.0.0.9:8080] err=<nil>"}, w.log)

	// The route by IP still names the container: nothing to repair.
	st, err := w.swapper().StatusOf(context.Background(), "web")
	require.NoError(t, err)
	require.Len(t, st, 1)
	assert.Equal(t, []string{"10.0.0.9"}, st[0].Routed)
	assert.False(t, st[0].Damage.Interrupted())

	delete(w.containers, squat.ID)
	w.log = nil
	got, err = w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepRouted, got.Upkeep)
	assert.Equal(t, []string{"route web http://web:8080", "confirm [http://web:8080] err=<nil>"}, w.log)
}

// A swap never writes a name another container answers to.
func TestSwapRoutesByIPWhenTheNewNameIsTaken(t *testing.T) {
	w := newWorld()
	squat := inspected("squat", "other:v1", func(r *container.InspectResponse) {
		r.NetworkSettings.Networks["edge"].Aliases = []string{"web-2"}
	})
	w.containers[squat.ID] = squat
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Contains(t, w.log, "route web http://10.0.0.9:8080", "the new container is routed by its IP, never by the taken name web-2")
}
