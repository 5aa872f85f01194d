package swarm

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/traefik"
)

// awaitRouted waits until Traefik's API shows service@file with exactly
// the given servers.
func awaitRouted(t *testing.T, s *lab.Swarm, service string, urls []string, within time.Duration) {
	t.Helper()
	api, err := traefik.NewAPI(s.TraefikAPI)
	require.NoError(t, err)
	want := append([]string(nil), urls...)
	sort.Strings(want)
	var last string
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt, err := api.Runtime(ctx)
		if err != nil {
			last = err.Error()
			return false
		}
		got := rt.Services[service+"@file"].ServerURLs()
		sort.Strings(got)
		last = strings.Join(got, ", ")
		return strings.Join(got, ",") == strings.Join(want, ",")
	}, within, 50*time.Millisecond, "Traefik never routed %s to %v; last: %s", service, want, last)
}

// TestSwarmRoutesToTasksOnEveryNode proves the harness: three Engines in a
// Swarm, a three-replica service spread over them, Traefik on the manager
// routing by a file naming the tasks' overlay addresses, and load through
// it with nothing failed; every task answers. Then a worker's Engine is
// stopped: Swarm starts its task elsewhere; started again, it rejoins.
func TestSwarmRoutesToTasksOnEveryNode(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	img := s.Prefix + "-app:v1"
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: img, Version: "v1"}))

	name := "web" + randomHex(2)
	docker(t, s, "service", "create", "--detach", "--name", name, "--replicas", "3",
		"--network", s.Network, "--no-resolve-image", img)
	tasks := awaitTasks(t, s, name, 3, 2*time.Minute)
	urls := urlsOf(tasks)
	assert.Equal(t, 3, nodesOf(tasks), "Swarm placed the 3 tasks on %d nodes, not one each: %+v", nodesOf(tasks), tasks)

	host := name + ".test"
	require.NoError(t, s.WriteRoute(name, host, addrsOf(tasks), 8080))
	awaitRouted(t, s, name, urls, 30*time.Second)

	// Every task answers through Traefik: its container's hostname (the
	// container ID's prefix) comes back in X-Container.
	answered := map[string]bool{}
	require.Eventually(t, func() bool {
		if c := probeContainer(t, s.Entry, host); c != "" {
			answered[c] = true
		}
		return len(answered) == 3
	}, 30*time.Second, 10*time.Millisecond, "not every task answered through Traefik: %v", answered)
	for _, task := range tasks {
		assert.True(t, answered[task.ContainerID[:12]], "task %s (container %s) never answered", task.ID, task.ContainerID)
	}

	run, err := loadgen.Start(ctx, loadgen.Options{URL: s.Entry + "/", Host: host, Clients: 8, MaxDuration: 10 * time.Second, MaxRequests: 3000})
	require.NoError(t, err)
	select {
	case <-run.Done():
	case <-ctx.Done():
	}
	rep := run.Stop()
	t.Logf("load through Traefik to the 3 tasks: %s", rep.Summary())
	assert.GreaterOrEqual(t, rep.Total, 500, "too few requests to say anything")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Equal(t, rep.Total, rep.ByVersion["v1"])

	// A worker's Engine goes down: Swarm marks the node down and starts
	// its task on the other nodes; back up, the node rejoins by itself.
	down := 2
	require.NoError(t, s.StopNode(down))
	var moved []lab.Task
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tasks, err := s.Tasks(ctx, name)
		if err != nil {
			return false
		}
		moved = moved[:0]
		for _, task := range tasks {
			if task.State == "running" && task.NodeID != s.NodeIDs[down] {
				moved = append(moved, task)
			}
		}
		return len(moved) == 3
	}, 3*time.Minute, 500*time.Millisecond, "Swarm did not run 3 tasks on the nodes left after node %d went down", down)
	t.Logf("node %d down: its task was started again on the other nodes: %+v", down, moved)
	startCtx, startCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer startCancel()
	require.NoError(t, s.StartNode(startCtx, down))
	require.Eventually(t, func() bool {
		status := docker(t, s, "node", "inspect", "--format", "{{.Status.State}}", s.NodeIDs[down])
		return status == "ready"
	}, 2*time.Minute, 500*time.Millisecond, "node %d did not come back ready", down)
}

func addrsOf(tasks []lab.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.Addr)
	}
	return out
}

// probeContainer sends one request through Traefik and returns the
// X-Container header of a 200 answer, or "".
func probeContainer(t *testing.T, entry, host string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, entry+"/", nil)
	require.NoError(t, err)
	req.Host = host
	resp, err := probeClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("X-Container")
}

var probeClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
