package swarm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// stackFile is a stack of one service, web, on the Swarm's overlay network.
func stackFile(s *lab.Swarm, image, router, host string) string {
	return fmt.Sprintf(`version: "3.8"
services:
  web:
    image: %s
    networks: [edge]
    deploy:
      replicas: 2
      labels:
        traefik.http.routers.%s.rule: Host(`+"`%s`"+`)
        traefik.http.services.%s.loadbalancer.server.port: "8080"
        dswap.drain: 5s
networks:
  edge:
    external: true
    name: %s
`, image, router, host, router, s.Network)
}

// runningTaskIDs are the IDs of the service's running tasks, sorted.
func runningTaskIDs(t *testing.T, s *lab.Swarm, service string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tasks, err := s.Tasks(ctx, service)
	require.NoError(t, err)
	var ids []string
	for _, task := range tasks {
		if task.State == "running" {
			ids = append(ids, task.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestSwarmStackServiceSwappedThenDeployedAgain: a service of a stack
// (docker stack deploy) is swapped by dswap under its stack name; the
// stack file edited to the new image and deployed again changes nothing:
// the same tasks keep running.
func TestSwarmStackServiceSwappedThenDeployedAgain(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 1})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v1, v2 := buildVersions(ctx, t, s)

	stack := "shop" + randomHex(2)
	service := stack + "_web"
	app := swarmApp{name: service, host: stack + ".test"}
	file := filepath.Join(t.TempDir(), "stack.yml")
	require.NoError(t, os.WriteFile(file, []byte(stackFile(s, v1, stack, app.host)), 0o644))
	// The default --resolve-image always: no registry answers here, so
	// the CLI keeps the tag as written (it warns).
	t.Logf("stack deploy: %s", docker(t, s, "stack", "deploy", "-c", file, stack))
	awaitTasks(t, s, service, 2, 3*time.Minute)

	require.Zero(t, runDswap(t, bin, s, "sync", service).code)
	stop := load(t, s, app, 3*time.Minute)
	run := runDswap(t, bin, s, "up", v2, "--service", service)
	rep := stop()
	t.Logf("dswap up %s --service %s under load: %s", v2, service, rep.Summary())
	require.Zero(t, run.code, run.stderr)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Greater(t, rep.ByVersion["v2"], 0)
	assert.Equal(t, v2, serviceImage(t, s, service))
	assert.Equal(t, stack, docker(t, s, "service", "inspect", "--format", `{{index .Spec.Labels "com.docker.stack.namespace"}}`, service), "still in its stack")
	assert.Contains(t, docker(t, s, "stack", "services", "--format", "{{.Name}}", stack), service)

	before := runningTaskIDs(t, s, service)
	require.Len(t, before, 2)
	specBefore := docker(t, s, "service", "inspect", "--format", "{{json .Spec.TaskTemplate}}", service)

	// The workflow: the file edited to the new image, deployed again.
	require.NoError(t, os.WriteFile(file, []byte(stackFile(s, v2, stack, app.host)), 0o644))
	t.Logf("stack deploy after the swap: %s", docker(t, s, "stack", "deploy", "-c", file, stack))
	specAfter := docker(t, s, "service", "inspect", "--format", "{{json .Spec.TaskTemplate}}", service)
	assert.JSONEq(t, specBefore, specAfter, "the stack deploy sent the task spec dswap left")
	// Swarm restarts tasks only when their spec changed: watch for 15 s.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		now := runningTaskIDs(t, s, service)
		require.Equal(t, before, now, "docker stack deploy replaced tasks: %s", strings.Join(now, ", "))
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("after docker stack deploy of the edited file, the same tasks run: %s", strings.Join(before, ", "))
}
