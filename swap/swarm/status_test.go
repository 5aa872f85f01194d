package swarm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
)

// StatusOf lists the service's tasks, routed, and a release task's
// one-off service of this service (running, or left by a killed dswap),
// never routed; a service named like another service's task is not one.
func TestStatusListsTheTasksAndARunningReleaseTask(t *testing.T) {
	w, old := routedWorld(t)
	ctx := context.Background()
	w.cluster.jobs["migrate"] = jobOutcome{hang: true}
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	task := svc.OneOffTask(taskServiceName("web", swap.PhasePre, 1), "myapp:v2", []string{"migrate"},
		map[string]string{swap.TaskLabel: "pre", swap.TaskServiceLabel: "web"})
	_, err = w.cluster.CreateSwarmService(ctx, task)
	require.NoError(t, err)
	foreign := svc.OneOffTask(taskServiceName("web", swap.PhasePost, 1), "other:v1", []string{"migrate"},
		map[string]string{swap.TaskLabel: "post", swap.TaskServiceLabel: "web-other"})
	_, err = w.cluster.CreateSwarmService(ctx, foreign)
	require.NoError(t, err)

	st, err := w.swapper().StatusOf(ctx, "web")
	require.NoError(t, err)
	var routed, names []string
	for _, ts := range st.Tasks {
		names = append(names, ts.Name)
		if ts.Routed {
			routed = append(routed, ts.Address)
		}
	}
	assert.ElementsMatch(t, []string{"web.1", "web.2", "web.3", "web-dswap-pre-1.1"}, names)
	assert.ElementsMatch(t, old, routed, "the service's tasks are routed, the release task not")
	assert.Empty(t, st.Interrupted)
}
