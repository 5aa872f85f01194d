package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unavailable skips a test whose environment is missing, except under CI,
// where a missing Engine or traefik binary is a broken setup and must fail.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// requireDocker returns a client for a reachable Engine or skips.
func requireDocker(t *testing.T) *client.Client {
	t.Helper()
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		unavailable(t, "creating Docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := docker.Ping(ctx); err != nil {
		_ = docker.Close()
		unavailable(t, "Docker Engine not reachable: %v", err)
	}
	return docker
}

// requireTraefikBin returns the traefik binary the lab would use or skips.
func requireTraefikBin(t *testing.T) string {
	t.Helper()
	bin := TraefikBinFromEnv()
	if bin == "" {
		unavailable(t, "no traefik binary: set %s or build .cache/bin/traefik", TraefikBinEnv)
	}
	if _, err := os.Stat(bin); err != nil {
		unavailable(t, "traefik binary %s: %v", bin, err)
	}
	return bin
}

// testPrefix returns a prefix no other run uses.
func testPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "dswap-labtest-" + hex.EncodeToString(b)
}

// testLog sends the lab's progress lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// assertNothingLeft checks that Close removed everything the lab created.
func assertNothingLeft(t *testing.T, docker *client.Client, prefix string, images []string, routesDir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelKey+"="+prefix))})
	require.NoError(t, err)
	assert.Empty(t, list, "containers left behind")
	nets, err := docker.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
	require.NoError(t, err)
	assert.Empty(t, nets, "networks left behind")
	for _, tag := range images {
		_, err := docker.ImageInspect(ctx, tag)
		assert.True(t, isNotFound(err), "image %s left behind (err %v)", tag, err)
	}
	if routesDir != "" {
		assert.NoDirExists(t, routesDir)
	}
}

// writeRoute publishes a file-provider config the way dswap does: write a
// temporary file in .staging, then rename it into the watched directory so
// that Traefik never reads a half-written file.
func writeRoute(t *testing.T, routesDir, name, content string) {
	t.Helper()
	staging := filepath.Join(routesDir, ".staging")
	require.NoError(t, os.MkdirAll(staging, 0o755))
	tmp := filepath.Join(staging, name+".tmp")
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, filepath.Join(routesDir, name)))
}

// getWithHost does one GET with a Host header and returns status and body.
func getWithHost(ctx context.Context, url, host string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "bad prefix", opts: Options{Prefix: "-x", TraefikBin: "/bin/sh"}, wantErr: "prefix"},
		{name: "no binary", opts: Options{Prefix: "p"}, wantErr: TraefikBinEnv},
		{name: "missing binary", opts: Options{Prefix: "p", TraefikBin: "/nonexistent/traefik"}, wantErr: TraefikBinEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.opts)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestLabRoutesTrafficToApp is the lab's end-to-end check against a real
// Engine and a real Traefik: an app behind a hand-written file-provider
// route answers through Traefik's web entrypoint.
func TestLabRoutesTrafficToApp(t *testing.T) {
	docker := requireDocker(t)
	defer docker.Close()
	bin := requireTraefikBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	prefix := testPrefix(t)
	l, err := New(ctx, Options{Prefix: prefix, TraefikBin: bin, Log: testLog{t}})
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			assert.NoError(t, l.Close(context.Background()))
		}
	}()

	tag := prefix + "-app:v1"
	require.NoError(t, l.BuildApp(ctx, AppImage{Tag: tag, Version: "v1"}))
	appName := prefix + "-web"
	id, err := l.RunApp(ctx, App{Name: appName, Image: tag, Labels: map[string]string{"dswap.test": "web"}})
	require.NoError(t, err)
	require.NoError(t, l.WaitHealthy(ctx, id, 30*time.Second))

	writeRoute(t, l.RoutesDir, "app.yml", fmt.Sprintf(`http:
  routers:
    app:
      rule: "Host(%s)"
      entryPoints: ["web"]
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://%s:8080"
`, "`app.test`", appName))

	var lastStatus int
	var lastBody string
	var lastErr error
	waitCtx, waitCancel := context.WithTimeout(ctx, 30*time.Second)
	defer waitCancel()
	err = pollUntil(waitCtx, 100*time.Millisecond, func(ctx context.Context) (error, error) {
		lastStatus, lastBody, lastErr = getWithHost(ctx, l.WebURL+"/", "app.test")
		if lastErr == nil && lastStatus == http.StatusOK && lastBody == "v1" {
			return nil, nil
		}
		return fmt.Errorf("status %d body %q err %v", lastStatus, lastBody, lastErr), nil
	})
	require.NoError(t, err, "traefik logs:\n%s", l.TraefikLogs(ctx, 40))

	// The load generator works through the real Traefik too: every request
	// of a short closed-loop run is answered by v1.
	run, err := loadgen.Start(ctx, loadgen.Options{URL: l.WebURL + "/", Host: "app.test", Clients: 4, MaxRequests: 200, MaxDuration: 30 * time.Second})
	require.NoError(t, err)
	<-run.Done()
	rep := run.Stop()
	t.Log(rep.Summary())
	assert.Equal(t, 200, rep.OK, rep.Summary())
	assert.Equal(t, map[string]int{"v1": 200}, rep.ByVersion)

	containers, err := l.ContainersOf(ctx, "dswap.test=web")
	require.NoError(t, err)
	require.Len(t, containers, 1)
	assert.Equal(t, appName, containers[0].Name)
	all, err := l.ContainersOf(ctx, "")
	require.NoError(t, err)
	assert.Len(t, all, 2, "the app and traefik")
	assert.NotEmpty(t, l.TraefikLogs(ctx, 10))

	routesDir := l.RoutesDir
	require.NoError(t, l.Close(ctx))
	closed = true
	assertNothingLeft(t, docker, prefix, []string{tag}, routesDir)
}

// newEngineOnlyLab returns a Lab with a network but no Traefik, for tests
// of app images and containers that must run before a traefik binary
// exists. Close cleans it up like a full lab.
func newEngineOnlyLab(t *testing.T, ctx context.Context, docker *client.Client) *Lab {
	t.Helper()
	prefix := testPrefix(t)
	l := &Lab{Docker: docker, Prefix: prefix, Network: prefix + "-net", log: testLog{t}}
	resp, err := docker.NetworkCreate(ctx, l.Network, network.CreateOptions{Driver: "bridge", Labels: map[string]string{LabelKey: prefix}})
	require.NoError(t, err)
	l.networkID = resp.ID
	return l
}

// publishedURL returns http://127.0.0.1:<port> for a container run with
// PublishPort.
func publishedURL(t *testing.T, ctx context.Context, l *Lab, id string) string {
	t.Helper()
	inspect, err := l.Docker.ContainerInspect(ctx, id)
	require.NoError(t, err)
	port, err := hostPort(inspect.NetworkSettings.Ports, appPort, "127.0.0.1")
	require.NoError(t, err)
	return "http://127.0.0.1:" + port
}

// TestAppsOnEngine checks app images and containers against a real Engine:
// Dockerfile quoting, health waiting and its failure messages, and how
// testapp behaves as PID 1 when stopped.
func TestAppsOnEngine(t *testing.T) {
	docker := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l := newEngineOnlyLab(t, ctx, docker)
	// A second client for the leftover check, because Close closes l's.
	checker := requireDocker(t)
	defer checker.Close()
	closed := false
	defer func() {
		if !closed {
			assert.NoError(t, l.Close(context.Background()))
		}
	}()
	p := l.Prefix
	weird := `a "b" $c \d`
	images := map[string]AppImage{
		"v1":      {Tag: p + "-app:v1", Version: "v1", Env: map[string]string{"WEIRD": weird}, Labels: map[string]string{"dswap.note": weird}},
		"never":   {Tag: p + "-app:never", Version: "never", Env: map[string]string{"NEVER_HEALTHY": "1"}, HealthInterval: 200 * time.Millisecond, HealthRetries: 2},
		"nocheck": {Tag: p + "-app:nocheck", Version: "nocheck", NoHealthcheck: true},
		"ignore":  {Tag: p + "-app:ignore", Version: "ignore", Env: map[string]string{"ON_SIGTERM": "ignore"}},
	}
	var tags []string
	for _, img := range images {
		require.NoError(t, l.BuildApp(ctx, img))
		tags = append(tags, img.Tag)
	}

	t.Run("image carries quoted env and labels", func(t *testing.T) {
		inspect, err := docker.ImageInspect(ctx, images["v1"].Tag)
		require.NoError(t, err)
		assert.Contains(t, inspect.Config.Env, "VERSION=v1")
		assert.Contains(t, inspect.Config.Env, "WEIRD="+weird)
		assert.Equal(t, weird, inspect.Config.Labels["dswap.note"])
		assert.Equal(t, p, inspect.Config.Labels[LabelKey])
		require.NotNil(t, inspect.Config.Healthcheck)
		assert.Equal(t, []string{"CMD", "/testapp", "health"}, inspect.Config.Healthcheck.Test)
		assert.Equal(t, time.Second, inspect.Config.Healthcheck.Interval)
	})

	t.Run("healthy app answers on its published port and drains on stop", func(t *testing.T) {
		id, err := l.RunApp(ctx, App{Name: p + "-v1", Image: images["v1"].Tag, PublishPort: true, Labels: map[string]string{"dswap.test": "v1"}})
		require.NoError(t, err)
		require.NoError(t, l.WaitHealthy(ctx, id, 30*time.Second))
		status, body, err := getWithHost(ctx, publishedURL(t, ctx, l, id)+"/", "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "v1", body)

		timeout := 10
		require.NoError(t, docker.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}))
		inspect, err := docker.ContainerInspect(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 0, inspect.State.ExitCode, "SIGTERM as PID 1 must lead to a clean exit")
		logs := l.containerLogs(ctx, id, 20)
		assert.Contains(t, logs, "received signal terminated")
		assert.Contains(t, logs, "shutdown complete")
	})

	t.Run("ignored SIGTERM needs SIGKILL", func(t *testing.T) {
		id, err := l.RunApp(ctx, App{Name: p + "-ignore", Image: images["ignore"].Tag})
		require.NoError(t, err)
		require.NoError(t, l.WaitHealthy(ctx, id, 30*time.Second))
		timeout := 1
		require.NoError(t, docker.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}))
		inspect, err := docker.ContainerInspect(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 137, inspect.State.ExitCode)
		assert.Contains(t, l.containerLogs(ctx, id, 20), "ignoring SIGTERM")
	})

	t.Run("never healthy app fails with its health log", func(t *testing.T) {
		id, err := l.RunApp(ctx, App{Name: p + "-never", Image: images["never"].Tag})
		require.NoError(t, err)
		err = l.WaitHealthy(ctx, id, 30*time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "turned unhealthy")
		assert.Contains(t, err.Error(), "NEVER_HEALTHY=1")
	})

	t.Run("app exiting at start fails with its logs", func(t *testing.T) {
		id, err := l.RunApp(ctx, App{Name: p + "-exit", Image: images["v1"].Tag, Env: []string{"EXIT_AT_START=1"}})
		require.NoError(t, err)
		err = l.WaitHealthy(ctx, id, 30*time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exit code 3")
		assert.Contains(t, err.Error(), "exiting at start because EXIT_AT_START=1")
	})

	t.Run("app without healthcheck is reported", func(t *testing.T) {
		id, err := l.RunApp(ctx, App{Name: p + "-nocheck", Image: images["nocheck"].Tag})
		require.NoError(t, err)
		err = l.WaitHealthy(ctx, id, 30*time.Second)
		require.ErrorContains(t, err, "no HEALTHCHECK")
	})

	t.Run("slow readiness times out with state", func(t *testing.T) {
		id, err := l.RunApp(ctx, App{Name: p + "-slow", Image: images["v1"].Tag, Env: []string{"READY_AFTER=1h"}})
		require.NoError(t, err)
		err = l.WaitHealthy(ctx, id, 1500*time.Millisecond)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "gave up after 1.5s")
		assert.Contains(t, err.Error(), "health starting")
	})

	t.Run("containers of the lab by label", func(t *testing.T) {
		got, err := l.ContainersOf(ctx, "dswap.test=v1")
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, p+"-v1", got[0].Name)
		assert.Equal(t, "exited", got[0].State)
	})

	require.NoError(t, l.Close(ctx))
	closed = true
	assertNothingLeft(t, checker, p, tags, "")
}
