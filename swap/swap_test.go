package swap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/traefik"
)

func TestUpMovesTrafficOnlyAfterHealthAndStopsOldOnlyAfterTheRouteMoved(t *testing.T) {
	w := newWorld()
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] err=<nil>",
		"stop id-web 5s",
		"remove id-web",
	}, w.log)
	assert.Equal(t, []string{"web"}, res.Old)
	assert.Equal(t, []string{"web-2"}, res.New)
	assert.Equal(t, "myapp:v1", res.FromImage)
	var phases []string
	for _, s := range res.Steps {
		phases = append(phases, s.Phase.String())
	}
	assert.Equal(t, []string{"plan", "create", "health", "flip", "drain", "remove", "done"}, phases)
	assert.Contains(t, res.Readiness, "Docker health status")

	created := w.containers["id-web-2"]
	require.NotNil(t, created)
	assert.Equal(t, "web", created.Labels["dswap.service"])
	assert.Equal(t, "web", created.Labels["dswap.swap.previous"])
	assert.Equal(t, "dswap", created.Labels["dswap.managed-by"])
}

func TestUpRollsBackAnUnhealthyContainer(t *testing.T) {
	w := newWorld()
	w.afterStart = func(w *world, c *engine.Container) {
		w.events <- engine.Event{ContainerID: c.ID, Action: "health_status: unhealthy"}
	}
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhaseHealth, failed.Phase)
	assert.Contains(t, failed.Error(), "new container web-2 is unhealthy")
	assert.Contains(t, failed.Kept, "myapp:v1 (web) keeps serving")
	assert.Equal(t, "log line of id-web-2", failed.Logs)
	assert.Equal(t, []string{"create web-2 myapp:v2", "start id-web-2", "remove id-web-2"}, w.log, "the route and the old container are untouched")
	assert.Equal(t, routeFor(w.containers["id-web"]), w.routes["web"])
}

func TestUpRollsBackAContainerThatExits(t *testing.T) {
	w := newWorld()
	w.afterStart = func(w *world, c *engine.Container) {
		w.events <- engine.Event{ContainerID: c.ID, Action: "die", Attributes: map[string]string{"exitCode": "3"}}
	}
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Contains(t, failed.Error(), "exited (code 3) before it was healthy")
	assert.NotContains(t, w.containers, "id-web-2")
}

func TestUpRestoresTheRouteWhenTraefikDoesNotApplyIt(t *testing.T) {
	w := newWorld()
	w.applied = func(exp traefik.Expectation) error {
		if strings.Contains(fmt.Sprint(exp.Servers), "web-2") {
			return errors.New("Traefik did not apply the route within 15s")
		}
		return nil
	}
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhaseFlip, failed.Phase)
	assertSameRoute(t, routeFor(w.containers["id-web"]), w.routes["web"], "the previous route file is back")
	assert.Equal(t, []string{
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] err=Traefik did not apply the route within 15s",
		"route web http://web:8080",
		"confirm [http://web:8080] err=<nil>",
		"stop id-web-2 5s", // it may have had requests before the route went back

		"remove id-web-2",
	}, w.log)
}

func TestUpTimesOutWaitingForHealth(t *testing.T) {
	w := newWorld()
	w.afterStart = func(*world, *engine.Container) {} // never healthy, never dies
	to := 100 * time.Millisecond
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{HealthTimeout: &to}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Contains(t, failed.Error(), "was not healthy after 100ms")
}

func TestUpInterruptedBeforeTheFlipRollsBack(t *testing.T) {
	w := newWorld()
	ctx, cancel := context.WithCancel(context.Background())
	w.afterStart = func(*world, *engine.Container) { cancel() }
	_, err := w.swapper().Up(ctx, Request{Image: "myapp:v2", Service: "web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, w.containers, "id-web-2", "cleanup runs although the context was cancelled")
	assert.Contains(t, w.containers, "id-web")
}

func TestUpOfTheRunningImageIsANoop(t *testing.T) {
	w := newWorld()
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v1", Service: "web"})
	require.NoError(t, err)
	assert.True(t, res.Noop)
	assert.Equal(t, []string{"route web http://web:8080", "confirm [http://web:8080] err=<nil>"}, w.log, "only the route is made sure of")
}

func TestUpRefusesAnImageWithoutHealthcheck(t *testing.T) {
	w := newWorld()
	// The v1 container's health check came from its image, so nothing of
	// the user's carries over and the bare image would run without one.
	w.images["myapp:bare"] = engine.ImageFromInspect(image.InspectResponse{ID: "sha256:bare", Config: &dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{ExposedPorts: map[string]struct{}{"8080/tcp": {}}},
	}})
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:bare", Service: "web"})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "has no HEALTHCHECK")
	assert.Empty(t, w.log, "nothing was created")
}

func TestUpReadinessFromItsOwnProbeBeforeDocker(t *testing.T) {
	w := newWorld()
	w.afterStart = func(*world, *engine.Container) {} // Docker has not checked yet (30 s interval)
	var probed []string
	w.exec = func(id string, cmd []string) engine.ExecResult {
		w.mu.Lock()
		probed = append(probed, strings.Join(cmd, " "))
		n := len(probed)
		w.mu.Unlock()
		if n < 3 {
			return engine.ExecResult{ExitCode: 1}
		}
		return engine.ExecResult{ExitCode: 0}
	}
	fast := 10 * time.Millisecond
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{ProbeInterval: &fast}})
	require.NoError(t, err)
	assert.Contains(t, res.Readiness, "dswap ran the container's HEALTHCHECK test (CMD /app health)")
	assert.Equal(t, []string{"/app health", "/app health", "/app health"}, probed, "the test runs until it passes once")
}

func TestUpProbeDisabled(t *testing.T) {
	w := newWorld()
	w.exec = func(string, []string) engine.ExecResult {
		t.Error("probe ran although disabled")
		return engine.ExecResult{}
	}
	off := time.Duration(0)
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{ProbeInterval: &off}})
	require.NoError(t, err)
	assert.Contains(t, res.Readiness, "Docker health status")
}

func TestProbeCommand(t *testing.T) {
	assert.Equal(t, []string{"/app", "health"}, probeCommand(&engine.Healthcheck{Test: []string{"CMD", "/app", "health"}}))
	assert.Equal(t, []string{"/bin/sh", "-c", "curl -f localhost"}, probeCommand(&engine.Healthcheck{Test: []string{"CMD-SHELL", "curl -f localhost"}}))
	assert.Nil(t, probeCommand(nil))
	assert.Nil(t, probeCommand(&engine.Healthcheck{Test: []string{"NONE"}}))
}

func TestUpFinishesASwapInterruptedBeforeItsFlip(t *testing.T) {
	w := newWorld()
	// A swap killed while waiting for health left web-2 running, unrouted.
	orphan := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels["dswap.managed-by"] = "dswap"
		r.Config.Labels["dswap.swap.previous"] = "web"
		r.Config.Labels["dswap.drain"] = "5s" // copied from web
	})
	w.containers[orphan.ID] = orphan
	d, err := w.swapper().Inspect(&Service{Name: "web", Running: []*engine.Container{w.containers["id-web"], orphan}})
	require.NoError(t, err)
	assert.True(t, d.Interrupted())
	assert.Equal(t, "interrupted swap: running but not routed: web-2", d.String())

	_, err = w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(w.log), 3)
	assert.Equal(t, []string{"confirm [http://web:8080] err=<nil>", "stop id-web-2 5s", "remove id-web-2"}, w.log[:3],
		"the unrouted container goes first, gracefully, once Traefik shows the route without it")
	assert.Contains(t, w.log, "create web-2 myapp:v2", "then the swap runs")
}

func TestUpFinishesASwapInterruptedAfterItsFlip(t *testing.T) {
	w := newWorld()
	// A swap killed right after the flip: the route names web-2, the old
	// container still runs.
	flipped := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels["dswap.swap.previous"] = "web"
		r.Config.Labels["dswap.drain"] = "5s" // copied from web
	})
	w.containers[flipped.ID] = flipped
	w.routes["web"] = routeFor(flipped)

	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.True(t, res.Noop, "after finishing, v2 already runs")
	assert.Equal(t, []string{"confirm [http://web-2:8080] err=<nil>", "stop id-web 5s", "remove id-web"}, w.log[:3])
	assert.NotContains(t, w.containers, "id-web")
}

func TestMonitorMovesTrafficBackWhenTheNewContainerDies(t *testing.T) {
	w := newWorld()
	w.applied = func(exp traefik.Expectation) error {
		if fmt.Sprint(exp.Servers) == "map[web:[http://web-2:8080]]" {
			// The new version crashes soon after taking traffic.
			w.events <- engine.Event{ContainerID: "id-web-2", Action: "die", Attributes: map[string]string{"exitCode": "4"}, Time: time.Now()}
		}
		return nil
	}
	window := time.Minute
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Monitor: &window}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhaseMonitor, failed.Phase)
	assert.Contains(t, failed.Error(), "new container web-2 exited (code 4)")
	assert.Equal(t, []string{
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] err=<nil>",
		"route web http://web:8080",
		"confirm [http://web:8080] err=<nil>",
		"stop id-web-2 5s",
		"remove id-web-2",
	}, w.log, "the old container was never stopped; traffic went back to it, and the new one got its drain window for requests still in flight")
}

func TestMonitorWindowPassesThenDrains(t *testing.T) {
	w := newWorld()
	window := 50 * time.Millisecond
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Monitor: &window}})
	require.NoError(t, err)
	var phases []string
	for _, s := range res.Steps {
		phases = append(phases, s.Phase.String())
	}
	assert.Equal(t, []string{"plan", "create", "health", "flip", "monitor", "drain", "remove", "done"}, phases)
}

type memHistory map[string][]history.Entry

func (m memHistory) Append(service string, e history.Entry) error {
	m[service] = append(m[service], e)
	return nil
}

func (m memHistory) Read(service string) ([]history.Entry, error) { return m[service], nil }

func TestUpRecordsHistory(t *testing.T) {
	w := newWorld()
	h := memHistory{}
	sw := w.swapper()
	sw.History = h
	_, err := sw.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	require.Len(t, h["web"], 1)
	e := h["web"][0]
	assert.Equal(t, "swapped", e.Result)
	assert.Equal(t, "myapp:v2", e.ToImage)
	assert.Equal(t, "sha256:myapp:v2", e.ToImageID)
	assert.Equal(t, "myapp:v1", e.FromImage)
	assert.Equal(t, []string{"web-2"}, e.Containers)

	w.afterStart = func(w *world, c *engine.Container) {
		w.events <- engine.Event{ContainerID: c.ID, Action: "health_status: unhealthy"}
	}
	sw = w.swapper()
	sw.History = h
	_, err = sw.Up(context.Background(), Request{Image: "myapp:v1", Service: "web", Force: true})
	require.Error(t, err)
	require.Len(t, h["web"], 2)
	assert.Equal(t, "failed", h["web"][1].Result)
	assert.Contains(t, h["web"][1].Reason, "unhealthy")
}

func TestMonitorMovesTrafficBackWhenTheHealthTestStartsFailing(t *testing.T) {
	w := newWorld()
	var flipped atomic.Bool
	w.applied = func(exp traefik.Expectation) error {
		if fmt.Sprint(exp.Servers) == "map[web:[http://web-2:8080]]" {
			flipped.Store(true)
		}
		return nil
	}
	// Healthy until traffic moved, then the test fails: the app is going
	// bad while it still answers requests.
	w.exec = func(string, []string) engine.ExecResult {
		if flipped.Load() {
			return engine.ExecResult{ExitCode: 1, Output: "503 Service Unavailable"}
		}
		return engine.ExecResult{ExitCode: 0}
	}
	window, probe := time.Minute, 5*time.Millisecond
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Monitor: &window, ProbeInterval: &probe}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhaseMonitor, failed.Phase)
	assert.Contains(t, failed.Error(), "failed its HEALTHCHECK test 3 times in a row")
	assertSameRoute(t, routeFor(w.containers["id-web"]), w.routes["web"], "traffic is back on web")
	assert.Contains(t, w.containers, "id-web")
	assert.NotContains(t, w.containers, "id-web-2")
}

func TestUpRefusesNamesAnotherRouteFileUses(t *testing.T) {
	w := newWorld()
	// Another service's file already defines a router called "web".
	w.routes["shop"] = routeFor(inspected("shop", "shop:v1"))
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), `router "web" is also defined in dswap-shop.yml`)
	assert.Empty(t, w.log, "nothing was created")
}

func TestUpRefusesNamesAHandWrittenFileUses(t *testing.T) {
	w := newWorld()
	// A hand-written TOML file in a subdirectory defines the middleware
	// "auth" that other routers use as auth@file; a container's labels
	// defining "auth" too would replace it, depending on file order.
	w.handWritten = map[string]string{"secure/auth.toml": "[http.middlewares.auth.basicAuth]\n  users = [\"admin:$apr1$x\"]\n"}
	w.containers["id-web"].Labels["traefik.http.middlewares.auth.headers.customrequestheaders.X-User"] = "anyone"
	w.containers["id-web"].Labels["traefik.http.routers.web.middlewares"] = "auth"
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), `middleware "auth" is also defined in secure/auth.toml`)
	assert.Empty(t, w.log, "nothing was created")
}

func TestUpRefusesWhenAFileOfTheDirectoryCannotBeRead(t *testing.T) {
	w := newWorld()
	w.handWritten = map[string]string{"broken.yml": "http: [\n"}
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "broken.yml")
	assert.Contains(t, err.Error(), "fix or remove it")
	assert.Empty(t, w.log, "nothing was created")
}

// A swap killed after its flip recorded nothing; the command that finishes
// it records it, so that the last history entry names what serves and a
// rollback can go back from it (found by the torture run, seed 1, swap 8:
// dswap SIGKILLed while draining). One killed before its flip is undone
// and records nothing.
func TestRepairRecordsASwapItFinished(t *testing.T) {
	for _, tc := range []struct {
		name   string
		routed bool // the route names the new container: killed after the flip
	}{
		{name: "killed after the flip", routed: true},
		{name: "killed before the flip", routed: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			fresh := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
				r.Config.Labels["dswap.service"] = "web"
				r.Config.Labels["dswap.managed-by"] = "dswap"
				r.Config.Labels["dswap.swap.previous"] = "web"
				r.Config.Labels["dswap.swap.id"] = "swap-1"
				r.Config.Labels["dswap.drain"] = "5s"
			})
			w.containers[fresh.ID] = fresh
			if tc.routed {
				w.routes["web"] = routeFor(fresh)
			}
			h := memHistory{}
			sw := w.swapper()
			sw.History = h
			_, err := sw.Sync(context.Background(), "web", Overrides{})
			require.NoError(t, err)
			if !tc.routed {
				assert.Empty(t, h["web"], "an undone swap changed nothing that serves")
				return
			}
			require.Len(t, h["web"], 1)
			e := h["web"][0]
			assert.Equal(t, "recovered", e.Result)
			assert.Equal(t, "swap-1", e.ID)
			assert.Equal(t, "myapp:v1", e.FromImage)
			assert.Equal(t, "myapp:v2", e.ToImage)
			assert.Equal(t, "sha256:myapp:v2", e.ToImageID)
			assert.Equal(t, []string{"web-2"}, e.Containers)

			// A rollback goes back from the recovered swap to v1.
			w.log = nil
			sw = w.swapper()
			sw.History = h
			res, err := sw.Rollback(context.Background(), "web", Overrides{})
			require.NoError(t, err)
			assert.Equal(t, "myapp:v1", res.ToImage)
		})
	}
}
