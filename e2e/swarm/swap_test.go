package swarm

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// swarmApp is a replicated service of the test app behind Traefik, routed
// by dswap.
type swarmApp struct {
	name, host string
}

// routedSwarm starts a Swarm of nodes Engines with the test app's v1 and
// v2 built, a service of v1 with replicas tasks, routed by dswap sync, and
// a dswap binary.
func routedSwarm(t *testing.T, nodes, replicas int) (s *lab.Swarm, bin, v1, v2 string, app swarmApp) {
	t.Helper()
	s = startSwarm(t, lab.SwarmOptions{Nodes: nodes})
	bin = dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	v1, v2 = buildVersions(ctx, t, s)
	app = createService(t, s, v1, replicas)
	sync := runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, sync.code, sync.stderr)
	return s, bin, v1, v2, app
}

// buildVersions builds the test app's v1 and v2 images on every node of s.
func buildVersions(ctx context.Context, t *testing.T, s *lab.Swarm) (v1, v2 string) {
	t.Helper()
	v1, v2 = s.Prefix+"-app:v1", s.Prefix+"-app:v2"
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: v1, Version: "v1"}))
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: v2, Version: "v2"}))
	return v1, v2
}

// createService creates a service of image with Traefik labels for a host
// of its own, replicas tasks, and waits until they run.
func createService(t *testing.T, s *lab.Swarm, image string, replicas int, extra ...string) swarmApp {
	t.Helper()
	return createServiceNamed(t, s, "web"+randomHex(2), image, replicas, extra...)
}

// createServiceNamed is createService for a service name chosen by the
// caller (whose extra labels name it).
func createServiceNamed(t *testing.T, s *lab.Swarm, name, image string, replicas int, extra ...string) swarmApp {
	t.Helper()
	app := swarmApp{name: name}
	app.host = app.name + ".test"
	args := []string{"service", "create", "--detach", "--name", app.name, "--replicas", fmt.Sprint(replicas),
		"--network", s.Network, "--no-resolve-image",
		"--label", fmt.Sprintf("traefik.http.routers.%s.rule=Host(`%s`)", app.name, app.host),
		"--label", fmt.Sprintf("traefik.http.services.%s.loadbalancer.server.port=8080", app.name),
		"--label", "dswap.drain=5s",
	}
	args = append(append(args, extra...), image)
	docker(t, s, args...)
	awaitTasks(t, s, app.name, replicas, 3*time.Minute)
	return app
}

// load runs closed-loop clients through Traefik for the app until stop is
// called (bounded in time and count).
func load(t *testing.T, s *lab.Swarm, app swarmApp, within time.Duration) func() *loadgen.Report {
	t.Helper()
	run, err := loadgen.Start(context.Background(), loadgen.Options{URL: s.Entry + "/", Host: app.host, Clients: 8, MaxDuration: within, MaxRequests: 200_000})
	require.NoError(t, err)
	return run.Stop
}

func serviceImage(t *testing.T, s *lab.Swarm, name string) string {
	return docker(t, s, "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", name)
}

func serviceExists(t *testing.T, s *lab.Swarm, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Docker(ctx, "service", "ls", "--quiet", "--filter", "name="+name).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, id := range strings.Fields(string(out)) {
		n := docker(t, s, "service", "inspect", "--format", "{{.Spec.Name}}", id)
		if n == name {
			return true
		}
	}
	return false
}

// TestSwarmUpUnderLoadOnOneNode swaps a 3-replica Swarm service under load:
// nothing fails, Traefik never routes fewer than 3 servers, the service
// keeps its name and runs the new image, the bridge is gone. Then dswap
// rollback goes back the same way. A broken v3 is refused with nothing
// failed.
func TestSwarmUpUnderLoadOnOneNode(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 1})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v1, v2, broken := s.Prefix+"-app:v1", s.Prefix+"-app:v2", s.Prefix+"-app:broken"
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: v1, Version: "v1"}))
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: v2, Version: "v2"}))
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: broken, Version: "broken", Env: map[string]string{"NEVER_HEALTHY": "1"}}))
	app := createService(t, s, v1, 3)

	adopt := runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, adopt.code, adopt.stderr)
	awaitRouted(t, s, app.name, urlsOf(awaitTasks(t, s, app.name, 3, time.Minute)), 30*time.Second)

	swapUnderLoad := func(args ...string) (dswapRun, *loadgen.Report, int, []string) {
		t.Helper()
		return dswapUnderLoad(t, bin, s, app, args...)
	}

	run, rep, fewest, sets := swapUnderLoad("up", v2, "--service", app.name)
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stdout, "now runs "+v2)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Greater(t, rep.ByVersion["v2"], 0)
	assert.GreaterOrEqual(t, fewest, 3, "Traefik routed fewer than 3 servers at some point")
	assert.GreaterOrEqual(t, len(sets), 3, "the route went v1 tasks -> bridge -> new tasks")
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.NotContains(t, docker(t, s, "service", "inspect", "--format", "{{json .Spec.Labels}}", app.name), "dswap.lock")

	status := runDswap(t, bin, s, "status", app.name)
	require.Zero(t, status.code, status.stderr)
	assert.Equal(t, 3, strings.Count(status.stdout, v2+"  running"), status.stdout)

	// A broken v3 (never healthy): refused, nothing failed, v2 serves on.
	run, rep, fewest, _ = swapUnderLoad("up", broken, "--service", app.name, "--health-timeout", "40s")
	assert.Equal(t, 1, run.code, run.stderr)
	assert.Contains(t, run.stderr, "keeps serving")
	assert.Less(t, run.took, 40*time.Second, "the failed task ended the wait, not the health timeout")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Equal(t, rep.Total, rep.ByVersion["v2"], "only v2 answered")
	assert.GreaterOrEqual(t, fewest, 3)
	assert.Equal(t, v2, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")

	// dswap rollback: back to v1 the same way.
	run, rep, fewest, _ = swapUnderLoad("rollback", app.name)
	require.Zero(t, run.code, run.stderr)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Greater(t, rep.ByVersion["v1"], 0)
	assert.GreaterOrEqual(t, fewest, 3)
	assert.Equal(t, v1, serviceImage(t, s, app.name))
}

func urlsOf(tasks []lab.Task) []string {
	var out []string
	for _, task := range tasks {
		out = append(out, "http://"+task.Addr+":8080")
	}
	return out
}
