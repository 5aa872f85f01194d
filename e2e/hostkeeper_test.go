package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/traefik"
)

// keeperBound is the reaction time the keeper must meet: from the
// container's start event to Traefik's API showing its new IP. It is the
// app's health check (1 s interval: the keeper routes a container once it
// is healthy), the keeper's debounce (500 ms) and Traefik's reload of a
// renamed file (0.13 to 0.29 s), with room for a loaded 2-core machine.
const keeperBound = 4 * time.Second

// hostTraefik starts Traefik as a host process with a routes directory of
// its own, as users coming from nginx run it.
func hostTraefik(t *testing.T) *lab.HostTraefik {
	t.Helper()
	return hostTraefikWith(t, lab.HostTraefikOptions{})
}

// hostTraefikWith is hostTraefik with options (a network namespace to run
// in, an address to listen on).
func hostTraefikWith(t *testing.T, opts lab.HostTraefikOptions) *lab.HostTraefik {
	t.Helper()
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.Bin, opts.RoutesDir = lab.TraefikBinFromEnv(), t.TempDir()
	h, err := lab.StartHostTraefik(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			t.Logf("host traefik's output:\n%s", h.Logs())
		}
	})
	return h
}

// hostEnv points dswap at a host Traefik with explicit settings only: no
// Traefik container named, though the Engine runs Traefik containers
// (the suite's lab, at least).
func hostEnv(h *lab.HostTraefik) []string {
	return []string{"DSWAP_ROUTES_DIR=" + h.RoutesDir, "DSWAP_TRAEFIK_API=" + h.APIURL, "DSWAP_TRAEFIK_CONTAINER="}
}

// hostService runs v1 on a network of its own, which no Traefik container
// is on (the case where discovery used to refuse: "shares no network with
// Traefik"), and routes it through the host Traefik with dswap sync.
//
// A placeholder container takes the network's first address and is removed
// once the service runs, so that the service's address is not the lowest
// free one: the Engine hands out the lowest free address, so a restart of
// the service moves it to the placeholder's, as a host with containers
// coming and going sees.
func hostService(t *testing.T, base string, h *lab.HostTraefik, extra ...string) *service {
	t.Helper()
	name := base + "-" + randomHex(2)
	s := &service{name: name, host: name + ".test"}
	net := name + "-net"
	dockerCLI(t, "network", "create", "--label", lab.LabelKey+"="+suite.lab.Prefix, net)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", net).Run() })
	t.Cleanup(func() { s.remove(t) })
	run := func(cname string, labels map[string]string, args ...string) string {
		a := []string{"run", "-d", "--name", cname, "--network", net, "--label", lab.LabelKey + "=" + suite.lab.Prefix}
		for k, v := range labels {
			a = append(a, "--label", k+"="+v)
		}
		a = append(append(a, args...), image(imgV1))
		return strings.TrimSpace(dockerCLI(t, a...))
	}
	placeholder := run(name+"-placeholder", nil)
	s.id = run(name, map[string]string{
		"traefik.enable":                                              "false",
		"traefik.http.routers." + name + ".rule":                      "Host(`" + s.host + "`)",
		"traefik.http.routers." + name + ".entrypoints":               "web",
		"traefik.http.services." + name + ".loadbalancer.server.port": "8080",
		"dswap.service":                                               name,
	}, extra...)
	dockerCLI(t, "rm", "-f", placeholder)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, suite.lab.WaitHealthy(ctx, s.id, 30*time.Second))
	sync := runDswapEnv(t, hostEnv(h), "sync", name)
	require.Equal(t, 0, sync.code, "dswap sync through the host Traefik failed:\n%s%s", sync.stdout, sync.stderr)
	return s
}

// hostLoad starts closed-loop clients against the service through the
// host Traefik and waits until they get v1.
func hostLoad(t *testing.T, h *lab.HostTraefik, s *service, clients int) *loadgen.Run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ld, err := loadgen.Start(ctx, loadgen.Options{URL: h.WebURL + "/", Host: s.host, Clients: clients,
		MaxDuration: 3 * time.Minute, MaxRequests: 500_000, Timeout: 30 * time.Second})
	require.NoError(t, err)
	waitCtx, cancelWait := context.WithTimeout(ctx, 30*time.Second)
	defer cancelWait()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"), "load never reached v1 through the host Traefik")
	require.Eventually(t, func() bool { return ld.Count() >= 4*clients }, 30*time.Second, 10*time.Millisecond, "load did not get going")
	return ld
}

// routedIPs returns the hosts of the service's servers as Traefik runs them.
func routedHosts(ctx context.Context, api *traefik.API, service string) []string {
	rt, err := api.Runtime(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, u := range rt.Services[service+"@file"].ServerURLs() {
		u = strings.TrimPrefix(u, "http://")
		out = append(out, u[:strings.LastIndex(u, ":")])
	}
	return out
}

// containerIP is the container's address on its only network.
func containerIP(t *testing.T, docker *client.Client, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := docker.ContainerInspect(ctx, id)
	require.NoError(t, err)
	for _, ep := range c.NetworkSettings.Networks {
		return ep.IPAddress
	}
	t.Fatalf("container %s has no network", id)
	return ""
}

func TestHostTraefikSwapUnderLoadWithAnotherTraefikContainer(t *testing.T) {
	h := hostTraefik(t)
	s := hostService(t, "hostswap", h)

	up := runDswapEnv(t, hostEnv(h), "status", s.name)
	require.Equal(t, 0, up.code)
	assert.Contains(t, up.stderr, "looked for no Traefik container", "dswap says which Traefik it uses and why")
	assert.Contains(t, up.stderr, "by IP", "dswap says how it addresses containers")
	assert.Contains(t, up.stderr, "no route keeper runs", "routes name IPs and nothing keeps them")

	ld := hostLoad(t, h, s, 8)
	run := runDswapEnv(t, hostEnv(h), "up", image(imgV2), "--service", s.name, "--output", "json")
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+32 }, 30*time.Second, 10*time.Millisecond, "load stopped after the swap")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	require.Equal(t, 0, run.code, "dswap up through the host Traefik failed:\n%s", run.stderr)
	assert.Equal(t, "swapped", run.result.Result)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.NotZero(t, rep.ByVersion["v2"])

	api, err := traefik.NewAPI(h.APIURL)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	newID := strings.TrimSpace(dockerCLI(t, "ps", "-q", "--no-trunc", "--filter", "label=dswap.service="+s.name))
	assert.Equal(t, []string{containerIP(t, suite.lab.Docker, newID)}, routedHosts(ctx, api, s.name), "the host Traefik routes the new container by IP")
}

// keeper is a `dswap keep` process.
type keeper struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
}

func (k *keeper) output() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.logs.String()
}

// startKeeper runs `dswap keep` with env, waits until it keeps routes, and
// stops it (SIGTERM) at the end of the test.
func startKeeper(t *testing.T, env []string, wrap ...string) *keeper {
	t.Helper()
	args := append(append([]string{}, wrap...), suite.dswap, "keep", "--log-level", "debug")
	k := &keeper{cmd: exec.Command(args[0], args[1:]...)}
	k.cmd.Env = withEnv(os.Environ(), env...)
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	k.cmd.Stderr, k.cmd.Stdout = pw, pw
	require.NoError(t, k.cmd.Start())
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			k.mu.Lock()
			k.logs.WriteString(sc.Text() + "\n")
			k.mu.Unlock()
			if strings.Contains(sc.Text(), "keeping routes right after Docker events") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- k.cmd.Wait(); _ = pw.Close() }()
	t.Cleanup(func() {
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = k.cmd.Process.Kill()
			t.Error("dswap keep did not stop within 15s of SIGTERM")
		}
		t.Logf("dswap keep's output:\n%s", k.output())
	})
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("dswap keep exited (%v) before keeping routes:\n%s", err, k.output())
	case <-time.After(time.Minute):
		t.Fatalf("dswap keep did not start keeping routes within a minute:\n%s", k.output())
	}
	return k
}

// lifecycle is when a container went down and came back, from its events.
type lifecycle struct {
	mu                   sync.Mutex
	kill, start, healthy time.Time
}

func (l *lifecycle) get() (kill, start, healthy time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.kill, l.start, l.healthy
}

// watchLifecycle follows a container's events from now on.
func watchLifecycle(t *testing.T, docker *client.Client, id string) *lifecycle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &lifecycle{}
	msgs, errs := docker.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("container", id))})
	go func() {
		for {
			select {
			case m := <-msgs:
				at := time.Unix(0, m.TimeNano)
				l.mu.Lock()
				switch {
				case m.Action == "kill" && l.kill.IsZero():
					l.kill = at
				case m.Action == "start" && !l.kill.IsZero() && l.start.IsZero():
					l.start = at
				case strings.HasPrefix(string(m.Action), "health_status: healthy") && !l.start.IsZero() && l.healthy.IsZero():
					l.healthy = at
				}
				l.mu.Unlock()
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return l
}

// restartMeasured is what a restart under load looked like.
type restartMeasured struct {
	oldIP, newIP                 string
	kill, start, healthy, routed time.Time
}

// awaitRoutedTo polls Traefik's API until it routes the service to ip
// only, and returns when it first did.
func awaitRoutedTo(t *testing.T, api *traefik.API, service, ip string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		hosts := routedHosts(ctx, api, service)
		cancel()
		if slices.Equal(hosts, []string{ip}) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Traefik's API still routes %s to %v, not %s, %s after the restart", service, hosts, ip, within)
		}
		time.Sleep(10 * time.Millisecond) // polling an API that has no change feed
	}
}

// checkRestart checks what the clients saw around a restart: failures only
// from the container's SIGTERM until the route named its new IP, none after.
func checkRestart(t *testing.T, rep *loadgen.Report, m restartMeasured) {
	t.Helper()
	t.Logf("load: %s", rep.Summary())
	t.Logf("restart: %s -> %s; down (kill to healthy) %s; start event to route on the new IP %s; healthy to route %s",
		m.oldIP, m.newIP, m.healthy.Sub(m.kill).Round(time.Millisecond), m.routed.Sub(m.start).Round(time.Millisecond), m.routed.Sub(m.healthy).Round(time.Millisecond))
	var during, after []loadgen.Result
	for _, r := range rep.Failures() {
		switch {
		case r.Start.Before(m.kill.Add(-100 * time.Millisecond)):
			t.Errorf("request failed before the container was stopped: %s", describe([]loadgen.Result{r}))
		case r.Start.Before(m.routed):
			during = append(during, r)
		default:
			after = append(after, r)
		}
	}
	t.Logf("failed while the container was down or not yet routed: %d (started %s after SIGTERM: first, last)", len(during), firstLastAfter(during, m.kill))
	assert.Empty(t, after, "requests failed after the route named the new IP: %s", describe(after))
	assert.LessOrEqual(t, m.routed.Sub(m.start), keeperBound, "the keeper's reaction: start event to Traefik routing the new IP")
}

func firstLastAfter(rs []loadgen.Result, t0 time.Time) string {
	if len(rs) == 0 {
		return "-, -"
	}
	return rs[0].Start.Sub(t0).Round(time.Millisecond).String() + ", " + rs[len(rs)-1].Start.Sub(t0).Round(time.Millisecond).String()
}

func TestHostKeeperFollowsADockerRestart(t *testing.T) {
	h := hostTraefik(t)
	s := hostService(t, "hostkeep", h)
	api, err := traefik.NewAPI(h.APIURL)
	require.NoError(t, err)

	k := startKeeper(t, hostEnv(h))
	st := runDswapEnv(t, hostEnv(h), "status", s.name)
	assert.NotContains(t, st.stderr, "no route keeper runs", "a keeper runs")
	assert.FileExists(t, filepath.Join(h.RoutesDir, ".dswap", "route-keeper.flock"))

	m := restartMeasured{oldIP: containerIP(t, suite.lab.Docker, s.id)}
	ld := hostLoad(t, h, s, 8)
	lc := watchLifecycle(t, suite.lab.Docker, s.id)
	dockerCLI(t, "restart", "-t", "5", s.id)
	m.newIP = containerIP(t, suite.lab.Docker, s.id)
	require.NotEqual(t, m.oldIP, m.newIP, "the restart was meant to move the container to the placeholder's address")
	m.routed = awaitRoutedTo(t, api, s.name, m.newIP, 30*time.Second)
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+200 }, 30*time.Second, 10*time.Millisecond, "load stopped after the restart")
	rep := ld.Stop()
	require.Eventually(t, func() bool { _, _, h := lc.get(); return !h.IsZero() }, 10*time.Second, 10*time.Millisecond, "no healthy event after the restart")
	m.kill, m.start, m.healthy = lc.get()
	checkRestart(t, rep, m)
	assert.Contains(t, k.output(), "route kept", "the keeper says what it did")
}
