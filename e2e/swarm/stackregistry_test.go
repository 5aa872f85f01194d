package swarm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// needRegistryBin returns the registry binary; without one the test skips,
// or fails under CI=true, where every test must run.
func needRegistryBin(t *testing.T) string {
	t.Helper()
	needSwarm(t)
	bin := lab.RegistryBinFromEnv()
	if bin != "" {
		return bin
	}
	msg := "no registry binary: run scripts/tools.sh and set " + lab.RegistryBinEnv
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; under CI=true this test must run")
	}
	t.Skip(msg)
	return ""
}

// nodeImages lists the image references node i's Engine has of repo
// (tags and digests), one per line.
func nodeImages(t *testing.T, s *lab.Swarm, i int, repo string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := s.DockerOn(ctx, s.Nodes[i], "image", "ls", "--digests", "--format", "{{.Repository}}:{{.Tag}}@{{.Digest}}", repo).CombinedOutput()
	require.NoError(t, err, "docker image ls on node %d: %s", i, out)
	return strings.TrimSpace(string(out))
}

// onWorker returns the tasks that run on a worker (not the manager).
func onWorker(s *lab.Swarm, tasks []lab.Task) []lab.Task {
	var out []lab.Task
	for _, task := range tasks {
		if s.NodeIndex(task.NodeID) > 0 {
			out = append(out, task)
		}
	}
	return out
}

// TestSwarmStackWithRegistryPinsDigestsThatALaterDeployKeeps runs the
// stack workflow with a registry, as users have one: the images are
// pushed from the manager, the worker pulls them, `docker stack deploy`
// pins the image to its digest (--resolve-image always, the default).
// dswap up of the next version under load pins it the same way, so the
// stack file edited to that version and deployed again changes nothing:
// the same task spec, the same tasks. A second dswap up of that version
// is a no-op.
func TestSwarmStackWithRegistryPinsDigestsThatALaterDeployKeeps(t *testing.T) {
	registryBin := needRegistryBin(t)
	s := startSwarm(t, lab.SwarmOptions{Nodes: 2, Registry: true, RegistryBin: registryBin})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	repo := s.Registry + "/app"
	v1, v2 := s.RegistryRef("app", "v1"), s.RegistryRef("app", "v2")
	pushed1, err := s.PushApp(ctx, lab.AppImage{Tag: v1, Version: "v1"})
	require.NoError(t, err)
	pushed2, err := s.PushApp(ctx, lab.AppImage{Tag: v2, Version: "v2"})
	require.NoError(t, err)
	digest1, err := s.RegistryDigest(ctx, v1)
	require.NoError(t, err)
	digest2, err := s.RegistryDigest(ctx, v2)
	require.NoError(t, err)
	assert.Equal(t, pushed1, digest1, "the registry holds what the manager pushed")
	assert.Equal(t, pushed2, digest2)
	require.Empty(t, nodeImages(t, s, 1, repo), "the worker must not have the images before it pulls them")

	stack := "shop" + randomHex(2)
	service := stack + "_web"
	app := swarmApp{name: service, host: stack + ".test"}
	file := filepath.Join(t.TempDir(), "stack.yml")
	require.NoError(t, os.WriteFile(file, []byte(stackFile(s, v1, stack, app.host)), 0o644))
	t.Logf("stack deploy: %s", docker(t, s, "stack", "deploy", "-c", file, stack))
	tasks := awaitTasks(t, s, service, 2, 3*time.Minute)
	require.Equal(t, v1+"@"+digest1, serviceImage(t, s, service), "docker stack deploy pins the image to the registry's digest")
	require.NotEmpty(t, onWorker(s, tasks), "Swarm put no task on the worker: %+v", tasks)
	assert.Contains(t, nodeImages(t, s, 1, repo), digest1, "the worker pulled v1 from the registry")
	t.Logf("docker stack deploy pinned %s; the worker has pulled: %s", serviceImage(t, s, service), nodeImages(t, s, 1, repo))

	require.Zero(t, runDswap(t, bin, s, "sync", service).code)
	// Traefik's service is named by the stack file's labels: the stack's name.
	sampler := sampleRoute(t, s, stack)
	stop := load(t, s, app, 3*time.Minute)
	run := runDswap(t, bin, s, "up", v2, "--service", service)
	rep := stop()
	fewest, samples, _, sets := sampler.finish()
	t.Logf("dswap up %s --service %s under load: %s; Traefik sampled %d times, fewest servers %d, sets %q", v2, service, rep.Summary(), samples, fewest, sets)
	require.Zero(t, run.code, run.stderr)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Greater(t, rep.ByVersion["v2"], 0)
	assert.GreaterOrEqual(t, fewest, 2)
	pinned := v2 + "@" + digest2
	require.Equal(t, pinned, serviceImage(t, s, service), "dswap pins the image to the registry's digest, as the stack deploy does")
	assert.Contains(t, run.stderr, "pinned to its registry's digest")
	tasks = awaitTasks(t, s, service, 2, time.Minute)
	require.NotEmpty(t, onWorker(s, tasks), "no task of the swapped service on the worker: %+v", tasks)
	for _, task := range tasks {
		assert.Equal(t, pinned, task.Image, "task %s", task.ID)
	}
	assert.Contains(t, nodeImages(t, s, 1, repo), digest2, "the worker pulled v2 from the registry")

	before := runningTaskIDs(t, s, service)
	require.Len(t, before, 2)
	specBefore := docker(t, s, "service", "inspect", "--format", "{{json .Spec.TaskTemplate}}", service)

	// The workflow: the file edited to the new image, deployed again.
	require.NoError(t, os.WriteFile(file, []byte(stackFile(s, v2, stack, app.host)), 0o644))
	t.Logf("stack deploy after the swap: %s", docker(t, s, "stack", "deploy", "-c", file, stack))
	specAfter := docker(t, s, "service", "inspect", "--format", "{{json .Spec.TaskTemplate}}", service)
	assert.JSONEq(t, specBefore, specAfter, "the stack deploy sent the task spec dswap left")
	assert.Equal(t, pinned, serviceImage(t, s, service))
	// Swarm restarts tasks only when their spec changed: watch for 15 s.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		now := runningTaskIDs(t, s, service)
		require.Equal(t, before, now, "docker stack deploy replaced tasks: %s", strings.Join(now, ", "))
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("after docker stack deploy of the edited file, the same tasks run: %s", strings.Join(before, ", "))

	// The same version again: the registry gives the digest the service
	// already runs, so there is nothing to swap.
	again := runDswap(t, bin, s, "up", v2, "--service", service)
	require.Zero(t, again.code, again.stderr)
	assert.Contains(t, again.stdout, "already runs "+pinned)
	assert.Contains(t, again.stdout, "nothing swapped")
	assert.False(t, serviceExists(t, s, service+"-dswap"), "no bridge was started")
	assert.JSONEq(t, specBefore, docker(t, s, "service", "inspect", "--format", "{{json .Spec.TaskTemplate}}", service))
	assert.Equal(t, before, runningTaskIDs(t, s, service), "the no-op replaced no task")
}
