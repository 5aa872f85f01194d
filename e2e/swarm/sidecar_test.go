package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/server"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

// sidecarPort is where the sidecar's task listens, published in host mode
// on the manager (the Swarm's own namespace: nothing else binds it).
const sidecarPort = "7070"

// staticDswap builds a static dswap, the binary of the repository's
// Dockerfile (FROM scratch), into a build context laid out as the
// Dockerfile expects: DIR/bin/dswap beside DIR/Dockerfile. The same binary
// is the CLI the test runs on the manager's side.
func staticDswap(t *testing.T) (contextDir, bin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	contextDir = t.TempDir()
	bin = filepath.Join(contextDir, "bin", "dswap")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "../../cmd/dswap")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building a static dswap: %s", out)
	dockerfile, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(contextDir, "Dockerfile"), dockerfile, 0o644))
	return contextDir, bin
}

// sidecarAPI is the sidecar's API as the test calls it.
type sidecarAPI struct {
	base, token string
}

// call sends a request with the token and returns the status and body.
func (a sidecarAPI) call(t *testing.T, method, path string, body any, within time.Duration) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	require.NoError(t, err)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := probeClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// startSidecarService runs `dswap serve` from image as a Swarm service on
// the manager, as docs/swarm.md shows: constrained to a manager, the
// manager Engine's socket and Traefik's routes directory bind-mounted, on
// the overlay network Traefik is on, its token a Swarm secret, its API
// published in host mode. It waits until the API answers the token and
// refuses a call without it. The service and the secret are removed when
// the test ends (before the Swarm is closed).
func startSidecarService(t *testing.T, s *lab.Swarm, image string) sidecarAPI {
	t.Helper()
	name := s.Prefix + "-sidecar"
	token := randomHex(16)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	secret := name + "-token"
	docker(t, s, "secret", "create", secret, tokenFile)
	socket := strings.TrimPrefix(s.Manager.Socket, "unix://")
	docker(t, s, "service", "create", "--detach", "--name", name,
		"--constraint", "node.role==manager",
		"--mount", "type=bind,source="+socket+",target=/var/run/docker.sock",
		"--mount", "type=bind,source="+s.RoutesDir+",target=/routes",
		"--network", s.Network,
		"--publish", "mode=host,published="+sidecarPort+",target="+sidecarPort,
		"--secret", "source="+secret+",target=dswap-token,mode=0400",
		"--env", "DSWAP_ROUTES_DIR=/routes",
		"--env", "DSWAP_TRAEFIK_CONTAINER="+s.TraefikName,
		"--env", "DSWAP_TRAEFIK_API=http://"+s.TraefikName+":8080",
		"--no-resolve-image",
		image, "serve", "--listen", "0.0.0.0:"+sidecarPort, "--token-file", "/run/secrets/dswap-token")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if id, err := s.Docker(ctx, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+name).Output(); err == nil && len(id) > 0 {
			logs, _ := s.Docker(ctx, "logs", "--tail", "60", strings.Fields(string(id))[0]).CombinedOutput()
			t.Logf("the sidecar's log (tail):\n%s", logs)
		}
		for _, args := range [][]string{{"service", "rm", name}, {"secret", "rm", secret}} {
			if out, err := s.Docker(ctx, args...).CombinedOutput(); err != nil {
				t.Logf("docker %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
	})
	api := sidecarAPI{base: "http://" + s.Manager.NSIP + ":" + sidecarPort, token: token}
	var last string
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.base+"/v1/services", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := probeClient.Do(req)
		if err != nil {
			last = err.Error()
			if ps, perr := s.Docker(ctx, "service", "ps", "--no-trunc", "--format", "{{.CurrentState}} {{.Error}}", name).CombinedOutput(); perr == nil {
				last += "; task: " + strings.TrimSpace(string(ps))
			}
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		return resp.StatusCode == http.StatusOK
	}, 2*time.Minute, 250*time.Millisecond, "the sidecar's API never answered at %s; last: %s", api.base, last)
	code, _ := sidecarAPI{base: api.base}.call(t, http.MethodGet, "/v1/services", nil, 10*time.Second)
	require.Equal(t, http.StatusUnauthorized, code, "the API answers only with the token")
	return api
}

// TestSwarmSidecarAsAServiceSwapsReportsAndFollowsATask runs the sidecar as
// a Swarm service on the manager of a one-node Swarm, beside Traefik, and
// drives it through its API only: a swap of a 3-replica service under load
// (nothing may fail), the service's status (its tasks on v2, routed) and
// history as the API answers them; then a task's container is killed on
// the manager and the sidecar's keeper moves the route to the task Swarm
// starts in its place, with the time it took and the failed requests
// meanwhile reported.
func TestSwarmSidecarAsAServiceSwapsReportsAndFollowsATask(t *testing.T) {
	// Traefik dials a server for up to 30 s by default: a request sent to
	// the killed task's address, gone from the overlay, would hang that
	// long and hold its closed-loop client, and the load would say
	// nothing about the seconds until the route follows. A 1 s dial
	// timeout, as docs/swarm.md advises for Swarm, bounds it.
	s := startSwarm(t, lab.SwarmOptions{Nodes: 1, TraefikArgs: []string{"--serversTransport.forwardingTimeouts.dialTimeout=1s"}})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	contextDir, bin := staticDswap(t)
	image := s.Prefix + "-dswap:test"
	require.NoError(t, s.BuildOnManager(ctx, image, contextDir))
	v1, v2 := buildVersions(ctx, t, s)
	app := createService(t, s, v1, 3)
	// The CLI on the manager's side routes the service first, as a user
	// does once (dswap sync); from then on the sidecar does the rest.
	adopt := runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, adopt.code, adopt.stderr)
	api := startSidecarService(t, s, image)

	// The swap, posted to the sidecar, under load.
	sampler := sampleRoute(t, s, app.name)
	stop := load(t, s, app, 4*time.Minute)
	time.Sleep(time.Second) // load before the swap starts
	started := time.Now()
	code, body := api.call(t, http.MethodPost, "/v1/services/"+app.name+"/swap?wait=true", map[string]string{"image": v2}, 4*time.Minute)
	took := time.Since(started)
	time.Sleep(time.Second) // and after it ended
	rep := stop()
	fewest, samples, _, sets := sampler.finish()
	t.Logf("POST /v1/services/%s/swap?wait=true (to %s): %d in %s: %s", app.name, v2, code, took.Round(time.Millisecond), body)
	t.Logf("load meanwhile: %s; Traefik sampled %d times, fewest servers %d, server sets in order %q", rep.Summary(), samples, fewest, sets)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var out server.Outcome
	require.NoError(t, json.Unmarshal(body, &out))
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, v2, out.To)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Positive(t, rep.ByVersion["v2"])
	assert.GreaterOrEqual(t, fewest, 3, "Traefik routed fewer than 3 servers at some point")
	assert.Equal(t, v2, serviceImage(t, s, app.name))

	// Its status, as the API answers it: three tasks on v2, each routed.
	st := swarmStatusOf(t, api, app.name)
	assert.True(t, st.Swarm)
	assert.Equal(t, v2, st.Image)
	assert.Equal(t, uint64(3), st.Replicas)
	require.Len(t, st.Tasks, 3, "%+v", st)
	for _, task := range st.Tasks {
		assert.Equal(t, v2, task.Image, "%+v", task)
		assert.Equal(t, "running", task.State, "%+v", task)
		assert.NotEmpty(t, task.Node, "%+v", task)
		assert.NotEmpty(t, task.Address, "%+v", task)
		assert.True(t, task.Routed, "%+v", task)
	}
	assert.ElementsMatch(t, addrsOf(awaitTasks(t, s, app.name, 3, time.Minute)), st.Routed)
	code, body = api.call(t, http.MethodGet, "/v1/services", nil, 30*time.Second)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	listed := false
	for _, svc := range list {
		if svc["service"] == app.name {
			listed = svc["swarm"] == true
		}
	}
	assert.True(t, listed, "GET /v1/services lists the Swarm service: %s", body)

	// Its history: the swap just made.
	code, body = api.call(t, http.MethodGet, "/v1/services/"+app.name+"/history", nil, 30*time.Second)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var entries []history.Entry
	require.NoError(t, json.Unmarshal(body, &entries))
	require.NotEmpty(t, entries, "%s", body)
	lastSwap := entries[len(entries)-1]
	assert.Equal(t, "swapped", lastSwap.Result)
	assert.Equal(t, v1, lastSwap.FromImage)
	assert.Equal(t, v2, lastSwap.ToImage)

	followKilledTask(t, s, api, app)
}

// followKilledTask kills one task's container on the manager under load:
// Swarm starts a new task (after its restart delay) with a new address,
// and the sidecar's keeper must route it, and unroute the dead one.
func followKilledTask(t *testing.T, s *lab.Swarm, api sidecarAPI, app swarmApp) {
	t.Helper()
	before := awaitTasks(t, s, app.name, 3, time.Minute)
	victim := before[0]
	oldAddrs := addrsOf(before)
	stop := load(t, s, app, 2*time.Minute)
	time.Sleep(2 * time.Second) // load before the kill
	killedAt := time.Now()
	docker(t, s, "kill", victim.ContainerID)
	var leftAt, followedAt time.Time
	var servers []string
	require.Eventually(t, func() bool {
		servers = routedServers(t, s, app.name)
		if len(servers) == 0 {
			return false
		}
		if leftAt.IsZero() && !slices.Contains(servers, "http://"+victim.Addr+":8080") {
			leftAt = time.Now()
		}
		if len(servers) != 3 || slices.Contains(servers, "http://"+victim.Addr+":8080") {
			return false
		}
		followedAt = time.Now()
		return true
	}, 90*time.Second, 50*time.Millisecond, "the route never named 3 tasks without the killed one (%s); last: %v", victim.Addr, servers)
	time.Sleep(time.Second)
	rep := stop()
	after := awaitTasks(t, s, app.name, 3, time.Minute)
	var newTask lab.Task
	for _, task := range after {
		if !slices.Contains(oldAddrs, task.Addr) {
			newTask = task
		}
	}
	require.NotEmpty(t, newTask.ID, "Swarm started no task with a new address: before %+v, after %+v", before, after)
	assert.Contains(t, servers, "http://"+newTask.Addr+":8080", "the route names the new task")
	t.Logf("task %s (container %s, %s) killed: the route left it after %s and named the new task %s (%s) after %s; load meanwhile: %s; failures after the kill: %s",
		victim.ID, victim.ContainerID[:12], victim.Addr, leftAt.Sub(killedAt).Round(time.Millisecond), newTask.ID, newTask.Addr,
		followedAt.Sub(killedAt).Round(time.Millisecond), rep.Summary(), failureSpans(rep.Failures(), killedAt))
	if rep.Hung > 0 {
		t.Logf("hung: %s", describe(rep.HungResults()))
	}

	// The API shows the new task routed, the killed one gone.
	st := swarmStatusOf(t, api, app.name)
	var addrs []string
	for _, task := range st.Tasks {
		addrs = append(addrs, task.Address)
		assert.True(t, task.Routed, "%+v", task)
	}
	assert.Contains(t, addrs, newTask.Addr)
	assert.NotContains(t, addrs, victim.Addr)

	// Once the route followed, nothing fails.
	stop = load(t, s, app, 10*time.Second)
	time.Sleep(5 * time.Second)
	rep = stop()
	t.Logf("after the route followed: %s", rep.Summary())
	assert.Zero(t, rep.Failed, "requests failed after the route followed: %s", describe(rep.Failures()))
	assert.Greater(t, rep.Total, 100)
}

// failureSpans groups failed requests by status (0: a transport error)
// with how many there were and when, after at, the first and the last
// started and how long the longest took.
func failureSpans(failed []loadgen.Result, at time.Time) string {
	type span struct {
		n           int
		first, last time.Duration
		longest     time.Duration
	}
	spans := map[int]*span{}
	for _, r := range failed {
		off, took := r.Start.Sub(at), r.End.Sub(r.Start)
		sp := spans[r.Status]
		if sp == nil {
			sp = &span{first: off, last: off}
			spans[r.Status] = sp
		}
		sp.n++
		sp.first, sp.last, sp.longest = min(sp.first, off), max(sp.last, off), max(sp.longest, took)
	}
	var parts []string
	for status, sp := range spans {
		parts = append(parts, fmt.Sprintf("%d × status %d started +%s to +%s, the longest took %s", sp.n, status,
			sp.first.Round(time.Millisecond), sp.last.Round(time.Millisecond), sp.longest.Round(time.Millisecond)))
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// swarmStatusOf is GET /v1/services/{name} of a Swarm service.
func swarmStatusOf(t *testing.T, api sidecarAPI, name string) swarmswap.Status {
	t.Helper()
	code, body := api.call(t, http.MethodGet, "/v1/services/"+name, nil, 30*time.Second)
	require.Equal(t, http.StatusOK, code, "%s", body)
	t.Logf("GET /v1/services/%s: %s", name, body)
	var st swarmswap.Status
	require.NoError(t, json.Unmarshal(body, &st))
	return st
}
