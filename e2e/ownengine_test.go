package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/traefik"
)

// engineRestartBound is how soon after the Engine starts the container
// again Traefik must route its new IP: the keeper's event stream broke with
// the Engine and is subscribed again with a backoff (1 s, 2 s, 4 s, ...),
// then health (1 s interval), debounce and Traefik's reload follow.
const engineRestartBound = 20 * time.Second

// ownEngine starts a Docker Engine of the test's own (never the machine's)
// and loads the v1 image into it.
func ownEngine(t *testing.T) *lab.OwnEngine {
	t.Helper()
	needSuite(t)
	if os.Geteuid() != 0 {
		unavailable(t, "an Engine of the test's own needs root (network namespaces, dockerd)")
	}
	for _, tool := range []string{"nsenter", "ip", "dockerd", "fuse-overlayfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, fmt.Sprintf("an Engine of the test's own needs %s: %v", tool, err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var b [3]byte
	_, _ = rand.Read(b[:])
	dir, err := os.MkdirTemp("", "dswap-engine-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	eng, err := lab.StartOwnEngine(ctx, "dsk"+randomHex(3), dir, [2]byte{200 + b[0]%50, b[1]})
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			t.Logf("own engine's dockerd log (tail):\n%s", tail(eng.Logs(), 40))
		}
	})
	require.NoError(t, err)
	load := exec.CommandContext(ctx, "sh", "-c", `docker save "$1" | docker -H "$2" load`, "sh", image(imgV1), eng.Socket)
	out, err := load.CombinedOutput()
	require.NoError(t, err, "docker save | docker -H %s load: %s", eng.Socket, out)
	return eng
}

// loopbackForward listens on 127.0.0.1 and forwards every connection to
// target, until the test ends; it returns the listener's http:// URL.
func loopbackForward(t *testing.T, target string) string {
	t.Helper()
	f, err := lab.Forward(target)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f.URL
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestHostKeeperFollowsAnEngineRestart(t *testing.T) {
	eng := ownEngine(t)
	dk := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", eng.Socket}, args...)...).CombinedOutput()
		require.NoError(t, err, "docker -H %s %s: %s", eng.Socket, strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	inspect := func(id, format string) string { return dk("inspect", "-f", format, id) }
	ipOf := func(id string) string { return inspect(id, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}") }

	// A placeholder takes the network's first address and goes, so that
	// the service's address is not the lowest free one and the restart
	// moves it (see hostService).
	name := "enginekeep-" + randomHex(2)
	s := &service{name: name, host: name + ".test"}
	dk("network", "create", "apps")
	dk("run", "-d", "--name", "placeholder", "--network", "apps", image(imgV1))
	s.id = dk("run", "-d", "--name", name, "--network", "apps", "--restart", "unless-stopped",
		"--label", "traefik.enable=false",
		"--label", "traefik.http.routers."+name+".rule=Host(`"+s.host+"`)",
		"--label", "traefik.http.routers."+name+".entrypoints=web",
		"--label", "traefik.http.services."+name+".loadbalancer.server.port=8080",
		"--label", "dswap.service="+name,
		image(imgV1))
	dk("rm", "-f", "placeholder")
	require.Eventually(t, func() bool { return inspect(s.id, "{{.State.Health.Status}}") == "healthy" }, 30*time.Second, 100*time.Millisecond)

	// Traefik runs in the Engine's namespace (where the containers' bridge
	// is) and listens on its end of the veth, which the test reaches.
	h := hostTraefikWith(t, lab.HostTraefikOptions{Wrap: eng.Wrap(), Host: eng.NSIP})
	api, err := traefik.NewAPI(h.APIURL)
	require.NoError(t, err)
	env := append(hostEnv(h), "DOCKER_HOST="+eng.Socket)
	sync := runDswapEnv(t, env, "sync", name)
	require.Equal(t, 0, sync.code, "dswap sync through the namespace's Traefik failed:\n%s", sync.stderr)
	startKeeper(t, env)

	// The load generator sends only to 127.0.0.1: a forwarder there hands
	// its connections to Traefik in the namespace.
	web := *h
	web.WebURL = loopbackForward(t, strings.TrimPrefix(h.WebURL, "http://"))
	ld := hostLoad(t, &web, s, 4)
	oldIP := ipOf(s.id)
	stopped := time.Now()
	require.NoError(t, eng.Stop(), "stopping the test's own Engine")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, eng.Start(ctx), "starting the test's own Engine again")
	back := time.Now()
	require.Eventually(t, func() bool { return inspect(s.id, "{{.State.Running}}") == "true" }, time.Minute, 100*time.Millisecond, "the restart policy did not start the container again")
	newIP := ipOf(s.id)
	require.NotEqual(t, oldIP, newIP, "the Engine's restart was meant to move the container to the placeholder's address")
	routed := awaitRoutedTo(t, api, name, newIP, time.Minute)
	startedAt, err := time.Parse(time.RFC3339Nano, inspect(s.id, "{{.State.StartedAt}}"))
	require.NoError(t, err)
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+200 }, 30*time.Second, 10*time.Millisecond, "load stopped after the Engine's restart")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	t.Logf("engine restart: %s -> %s; Engine down for %s (stop to answering); container started %s after the Engine answered; route on the new IP %s after the container started",
		oldIP, newIP, back.Sub(stopped).Round(time.Millisecond), startedAt.Sub(back).Round(time.Millisecond), routed.Sub(startedAt).Round(time.Millisecond))
	var late []loadgen.Result
	for _, r := range rep.Failures() {
		if r.Start.After(routed) {
			late = append(late, r)
		}
		assert.False(t, r.Start.Before(stopped.Add(-100*time.Millisecond)), "a request failed before the Engine was stopped: %s", describe([]loadgen.Result{r}))
	}
	t.Logf("failed: %d, all started between the Engine's stop and the route on the new IP", len(rep.Failures())-len(late))
	assert.Empty(t, late, "requests failed after the route named the new IP: %s", describe(late))
	assert.LessOrEqual(t, routed.Sub(startedAt), engineRestartBound, "the keeper's reaction after the Engine's restart")
}
