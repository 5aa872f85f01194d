package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/traefik"
)

type option func(*engine.Container)

func container(name string, opts ...option) *engine.Container {
	c := &engine.Container{Name: name, Labels: map[string]string{}, Networks: map[string]engine.Endpoint{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withLabel(k, v string) option { return func(c *engine.Container) { c.Labels[k] = v } }
func onNetwork(n, ip string) option {
	return func(c *engine.Container) { c.Networks[n] = engine.Endpoint{IPAddress: ip} }
}
func withHealthcheck() option {
	return func(c *engine.Container) { c.Healthcheck = &engine.Healthcheck{} }
}
func publishing(host string) option {
	return func(c *engine.Container) {
		c.PublishedPorts = append(c.PublishedPorts, engine.PortBinding{ContainerPort: "8080/tcp", HostPort: host})
	}
}
func withArgs(a ...string) option { return func(c *engine.Container) { c.Args = a } }
func withEnv(e ...string) option  { return func(c *engine.Container) { c.Env = e } }

// statuses runs one check and returns its statuses, in order.
func statuses(t *testing.T, check func(context.Context, *Host) []Finding, h *Host) []Status {
	t.Helper()
	var out []Status
	for _, f := range check(context.Background(), h) {
		out = append(out, f.Status)
		if f.Status == Fail || f.Status == Warn {
			assert.NotEmpty(t, f.Message)
		}
		if f.Status == Fail {
			assert.NotEmpty(t, f.Fix, "a failure says how to fix it: %s", f.Message)
		}
	}
	return out
}

func traefikIn(nets ...string) *traefik.Instance {
	c := container("traefik")
	for _, n := range nets {
		onNetwork(n, "172.30.0.2")(c)
	}
	return &traefik.Instance{Container: c, FileDir: "/routes", HostDir: "/srv/routes", APIURL: "http://127.0.0.1:8080"}
}

func TestCheckTraefikAndFileProvider(t *testing.T) {
	good := traefikIn("web")
	single := traefikIn("web")
	single.FileDir, single.HostDir, single.FileName = "", "", "/etc/traefik/dynamic.yml"
	none := traefikIn("web")
	none.FileDir, none.HostDir = "", ""
	cases := []struct {
		name          string
		host          *Host
		traefik, file []Status
	}{
		{"found with a directory", &Host{Traefik: good, Candidates: []*engine.Container{good.Container}}, []Status{OK}, []Status{OK}},
		{"none", &Host{}, []Status{Fail}, []Status{Skip}},
		{"several", &Host{Candidates: []*engine.Container{container("a"), container("b")}}, []Status{Fail}, []Status{Skip}},
		{"on the host", &Host{GivenRoutesDir: "/r", GivenAPI: "http://127.0.0.1:8080"}, []Status{OK}, []Status{OK}},
		{"a single file", &Host{Traefik: single}, []Status{OK}, []Status{Fail}},
		{"no file provider", &Host{Traefik: none}, []Status{OK}, []Status{Fail}},
		{"directory not mounted", &Host{Traefik: none, TraefikErr: errors.New("not mounted")}, []Status{OK}, []Status{Fail}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.traefik, statuses(t, checkTraefik, tc.host))
			assert.Equal(t, tc.file, statuses(t, checkFileProvider, tc.host))
		})
	}
	f := checkFileProvider(context.Background(), &Host{Traefik: single})[0]
	assert.Contains(t, f.Message, "single file")
	assert.Contains(t, f.Fix, "--providers.file.directory")
}

type fakeAPI struct {
	version string
	err     error
	rt      *traefik.Runtime
}

func (f fakeAPI) Version(context.Context) (string, error)           { return f.version, f.err }
func (f fakeAPI) Runtime(context.Context) (*traefik.Runtime, error) { return f.rt, f.err }

func TestCheckAPI(t *testing.T) {
	tr := traefikIn("web")
	cases := []struct {
		name string
		host *Host
		want Status
	}{
		{"v3", &Host{Traefik: tr, APIURL: "http://x", API: fakeAPI{version: "3.6.10"}}, OK},
		{"v2.11", &Host{Traefik: tr, APIURL: "http://x", API: fakeAPI{version: "2.11.53"}}, OK},
		{"v2.10 too old", &Host{Traefik: tr, APIURL: "http://x", API: fakeAPI{version: "2.10.7"}}, Fail},
		{"dev build", &Host{Traefik: tr, APIURL: "http://x", API: fakeAPI{version: "dev"}}, Warn},
		{"unreachable", &Host{Traefik: tr, APIURL: "http://x", API: fakeAPI{err: errors.New("connection refused")}}, Fail},
		{"not enabled", &Host{Traefik: tr}, Fail},
		{"none on purpose", &Host{Traefik: tr, APIURL: "none"}, Warn},
		{"no Traefik", &Host{}, Skip},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, []Status{tc.want}, statuses(t, checkAPI, tc.host))
		})
	}
}

func TestCheckThrottleAndMetrics(t *testing.T) {
	cases := []struct {
		name     string
		set      func(*traefik.Instance)
		throttle Status
		metrics  Status
	}{
		{"defaults", func(*traefik.Instance) {}, OK, Warn},
		{"5s throttle", func(i *traefik.Instance) { i.Throttle = "5s" }, Warn, Warn},
		{"20 seconds", func(i *traefik.Instance) { i.Throttle = "20" }, Fail, Warn},
		{"garbage", func(i *traefik.Instance) { i.Throttle = "soon" }, Warn, Warn},
		{"metrics without labels", func(i *traefik.Instance) { i.Metrics = true }, OK, Warn},
		{"metrics with labels", func(i *traefik.Instance) { i.Metrics, i.MetricsServiceLabels = true, true }, OK, OK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := traefikIn("web")
			tc.set(tr)
			h := &Host{Traefik: tr}
			assert.Equal(t, []Status{tc.throttle}, statuses(t, checkThrottle, h))
			assert.Equal(t, []Status{tc.metrics}, statuses(t, checkMetrics, h))
		})
	}
}

func TestCheckServices(t *testing.T) {
	tr := traefikIn("web")
	healthy := container("app-1", withLabel("dswap.enable", "true"), withHealthcheck(), onNetwork("web", "172.30.0.5"))
	noHealth := container("nohc-1", withLabel("dswap.enable", "true"), onNetwork("web", "172.30.0.6"))
	healthCmd := container("cmd-1", withLabel("dswap.health-cmd", "true"), withLabel("dswap.enable", "true"), onNetwork("web", "172.30.0.7"))
	elsewhere := container("lone-1", withLabel("dswap.enable", "true"), withHealthcheck(), onNetwork("other", "172.31.0.5"))
	ported := container("port-1", withLabel("dswap.enable", "true"), withHealthcheck(), onNetwork("web", "172.30.0.8"), publishing("8081"))
	cases := []struct {
		name              string
		services          []*engine.Container
		health, net, port []Status
	}{
		{"all good", []*engine.Container{healthy, healthCmd}, []Status{OK}, []Status{OK}, []Status{OK}},
		{"no healthcheck", []*engine.Container{healthy, noHealth}, []Status{Fail}, []Status{OK}, []Status{OK}},
		{"no shared network", []*engine.Container{elsewhere}, []Status{OK}, []Status{Fail}, []Status{OK}},
		{"host port", []*engine.Container{ported}, []Status{OK}, []Status{OK}, []Status{Fail}},
		{"none", nil, []Status{Skip}, []Status{Skip}, []Status{Skip}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &Host{Traefik: tr, Services: tc.services}
			assert.Equal(t, tc.health, statuses(t, checkHealthcheck, h))
			assert.Equal(t, tc.net, statuses(t, checkNetwork, h))
			assert.Equal(t, tc.port, statuses(t, checkHostPorts, h))
		})
	}
	f := checkNetwork(context.Background(), &Host{Traefik: tr, Services: []*engine.Container{elsewhere}})[0]
	assert.Equal(t, "docker network connect web lone-1; in compose, put the service on Traefik's network (networks: [web])", f.Fix)
}

func runtimeWith(name, url string) *traefik.Runtime {
	var svc traefik.ServiceStatus
	svc.LoadBalancer = &struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}{Servers: []struct {
		URL string `json:"url"`
	}{{URL: url}}}
	return &traefik.Runtime{Services: map[string]traefik.ServiceStatus{name: svc}}
}

func TestCheckDockerProvider(t *testing.T) {
	app := container("app-1", withLabel("dswap.enable", "true"), onNetwork("web", "172.30.0.5"))
	optedOut := container("app-2", withLabel("dswap.enable", "true"), withLabel("traefik.enable", "false"), onNetwork("web", "172.30.0.6"))
	dockerTraefik := traefikIn("web")
	dockerTraefik.DockerProvider = true
	cases := []struct {
		name string
		host *Host
		want []Status
	}{
		{"routed by the docker provider too", &Host{Services: []*engine.Container{app}, API: fakeAPI{rt: runtimeWith("app@docker", "http://172.30.0.5:8080")}}, []Status{Fail}},
		{"only by file", &Host{Services: []*engine.Container{app}, API: fakeAPI{rt: runtimeWith("app@file", "http://172.30.0.5:8080")}}, []Status{OK}},
		{"no API, exposed by default", &Host{Traefik: dockerTraefik, Services: []*engine.Container{app, optedOut}}, []Status{Warn}},
		{"no API, no docker provider", &Host{Traefik: traefikIn("web"), Services: []*engine.Container{app}}, []Status{OK}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, statuses(t, checkDockerProvider, tc.host))
		})
	}
}

func TestCheckRoutesDirAndKeeper(t *testing.T) {
	dir := t.TempDir()
	now := time.Now
	assert.Equal(t, []Status{OK}, statuses(t, checkRoutesDir, &Host{RoutesDir: dir, Now: now}))
	assert.Equal(t, []Status{Warn}, statuses(t, checkRoutesDir, &Host{RoutesDir: dir, Now: func() time.Time { return time.Now().Add(time.Minute) }}), "clock skew")
	assert.Equal(t, []Status{Fail}, statuses(t, checkRoutesDir, &Host{RoutesDir: filepath.Join(dir, "missing"), Now: now}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "private.yml"), []byte("http: {}\n"), 0o600))
	assert.Equal(t, []Status{Warn}, statuses(t, checkRoutesDir, &Host{RoutesDir: dir, Now: now}), "a file Traefik may not read")
	require.NoError(t, os.Remove(filepath.Join(dir, "private.yml")))

	byName := "http:\n  services:\n    web:\n      loadBalancer:\n        servers:\n          - url: http://web-1:8080\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "web.yml"), []byte(byName), 0o644))
	assert.Equal(t, []Status{OK}, statuses(t, checkKeeper, &Host{RoutesDir: dir}))
	byIP := "http:\n  services:\n    ip:\n      loadBalancer:\n        servers:\n          - url: http://172.30.0.5:8080\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ip.yml"), []byte(byIP), 0o644))
	keeper := func(running bool) func(context.Context) (string, bool, error) {
		return func(context.Context) (string, bool, error) { return "dswap keep (pid 7)", running, nil }
	}
	assert.Equal(t, []Status{Warn}, statuses(t, checkKeeper, &Host{RoutesDir: dir, KeeperRunning: keeper(false)}))
	assert.Equal(t, []Status{OK}, statuses(t, checkKeeper, &Host{RoutesDir: dir, KeeperRunning: keeper(true)}))
}

func TestCheckSidecarToken(t *testing.T) {
	serve := func(o ...option) *engine.Container {
		return container("dswap", append([]option{withArgs("/dswap", "serve", "--listen", "tcp://0.0.0.0:8000")}, o...)...)
	}
	cases := []struct {
		name     string
		sidecars []*engine.Container
		want     []Status
	}{
		{"none", nil, []Status{OK}},
		{"token file", []*engine.Container{serve(withArgs("/dswap", "serve", "--token-file", "/run/secrets/t"))}, []Status{OK}},
		{"token in the environment", []*engine.Container{serve(withEnv("DSWAP_TOKEN=abc"))}, []Status{Warn}},
		{"no token on TCP", []*engine.Container{serve()}, []Status{Fail}},
		{"no token on a socket", []*engine.Container{container("s", withArgs("/dswap", "serve", "--listen", "unix:///run/dswap.sock"))}, []Status{OK}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, statuses(t, checkSidecarToken, &Host{Sidecars: tc.sidecars}))
		})
	}
}
