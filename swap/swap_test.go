package swap

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// The fakes below record every side effect in one ordered log, so the tests
// can assert the order that zero downtime depends on: the route moves only
// after health, and the old container stops only after the route moved.

type world struct {
	mu         sync.Mutex
	log        []string
	containers map[string]*engine.Container
	images     map[string]*engine.Image
	routes     map[string]string
	// handWritten are files of the routes directory dswap does not own,
	// by path relative to it.
	handWritten map[string]string
	// afterStart decides what happens when a new container starts.
	afterStart func(w *world, c *engine.Container)
	events     chan engine.Event
	// exec answers the HEALTHCHECK probes dswap runs; nil fails them all.
	exec func(id string, cmd []string) engine.ExecResult
	// applied decides whether Traefik shows the route it was asked for.
	applied func(exp traefik.Expectation) error
}

func (w *world) record(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

type fakeDocker struct{ w *world }

func (f fakeDocker) List(_ context.Context, lf engine.ListFilter) ([]*engine.Container, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	var out []*engine.Container
	for _, c := range f.w.containers {
		if lf.All || c.State.Running {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f fakeDocker) Inspect(_ context.Context, id string) (*engine.Container, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	if c, ok := f.w.containers[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("container %s: %w", id, engine.ErrNotFound)
}

func (f fakeDocker) Create(_ context.Context, spec *engine.Spec) (string, error) {
	f.w.record("create %s %s", spec.Name, spec.Image)
	c := inspected(spec.Name, spec.Image, func(r *container.InspectResponse) {
		r.Config.Labels = spec.Labels
		r.State = &container.State{Status: "created"}
	})
	f.w.mu.Lock()
	f.w.containers[c.ID] = c
	f.w.mu.Unlock()
	return c.ID, nil
}

func (f fakeDocker) Start(_ context.Context, id string) error {
	f.w.record("start %s", id)
	f.w.mu.Lock()
	c := f.w.containers[id]
	c.State.Running, c.State.Status = true, "running"
	f.w.mu.Unlock()
	go f.w.afterStart(f.w, c)
	return nil
}

func (f fakeDocker) Stop(_ context.Context, id string, timeout time.Duration) error {
	f.w.record("stop %s %s", id, timeout)
	f.w.mu.Lock()
	f.w.containers[id].State = engine.State{Status: "exited"}
	f.w.mu.Unlock()
	return nil
}

func (f fakeDocker) Remove(_ context.Context, id string) error {
	f.w.record("remove %s", id)
	f.w.mu.Lock()
	delete(f.w.containers, id)
	f.w.mu.Unlock()
	return nil
}

func (f fakeDocker) Events(ctx context.Context, _ engine.EventFilter) (<-chan engine.Event, <-chan error) {
	return f.w.events, make(chan error)
}

func (f fakeDocker) Logs(_ context.Context, id string, _ int) (string, error) {
	return "log line of " + id, nil
}

func (f fakeDocker) Exec(_ context.Context, id string, cmd []string) (engine.ExecResult, error) {
	if f.w.exec == nil {
		return engine.ExecResult{ExitCode: 1, Output: "not ready"}, nil
	}
	return f.w.exec(id, cmd), nil
}

type fakeImages struct{ w *world }

func (f fakeImages) Ensure(ctx context.Context, ref string) (*engine.Image, error) {
	return f.InspectImage(ctx, ref)
}

func (f fakeImages) InspectImage(_ context.Context, ref string) (*engine.Image, error) {
	if img, ok := f.w.images[ref]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
}

type fakeRoutes struct{ w *world }

var serverURL = regexp.MustCompile(`url: "?([^"\s]+)`)

func (f fakeRoutes) Read(service string) ([]byte, bool, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	r, ok := f.w.routes[service]
	return []byte(r), ok, nil
}

func (f fakeRoutes) Write(service string, content []byte) error {
	var servers []string
	for _, m := range serverURL.FindAllStringSubmatch(string(content), -1) {
		servers = append(servers, m[1])
	}
	f.w.record("route %s %s", service, strings.Join(servers, ","))
	f.w.mu.Lock()
	f.w.routes[service] = string(content)
	f.w.mu.Unlock()
	return nil
}

func (f fakeRoutes) Remove(service string) error {
	f.w.record("unroute %s", service)
	f.w.mu.Lock()
	delete(f.w.routes, service)
	f.w.mu.Unlock()
	return nil
}

func (f fakeRoutes) FileFor(service string) string { return "/routes/dswap-" + service + ".yml" }

func (f fakeRoutes) LastChange() time.Time { return time.Time{} }

func (f fakeRoutes) Others(service string) (map[string][]byte, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range f.w.routes {
		if k != service {
			out["dswap-"+k+".yml"] = []byte(v)
		}
	}
	for k, v := range f.w.handWritten {
		out[k] = []byte(v)
	}
	return out, nil
}

type fakeTraefik struct{ w *world }

func (f fakeTraefik) WaitApplied(_ context.Context, exp traefik.Expectation, _ time.Duration) (time.Duration, error) {
	err := f.w.applied(exp)
	f.w.record("confirm %v err=%v", flatten(exp.Servers), err)
	return 10 * time.Millisecond, err
}

func (f fakeTraefik) Runtime(context.Context) (*traefik.Runtime, error) {
	return &traefik.Runtime{}, nil
}

// inspected builds a container as the daemon would show it, created from
// an image built by testImage.
func inspected(name, ref string, opts ...func(*container.InspectResponse)) *engine.Container {
	raw := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:         "id-" + name,
			Name:       "/" + name,
			Image:      "sha256:" + ref,
			Created:    time.Now().Format(time.RFC3339Nano),
			HostConfig: &container.HostConfig{NetworkMode: "edge"},
			State:      &container.State{Running: true, Status: "running"},
		},
		Config: &container.Config{
			Image:        ref,
			Env:          []string{"VERSION=" + ref},
			ExposedPorts: nat.PortSet{"8080/tcp": {}},
			Labels: map[string]string{
				"traefik.enable":                "false",
				"traefik.http.routers.web.rule": "Host(`web.test`)",
			},
			Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: time.Second, Timeout: time.Second, Retries: 3},
		},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"edge": {IPAddress: "10.0.0.9"}}},
	}
	for _, o := range opts {
		o(&raw)
	}
	return engine.FromInspect(raw)
}

func testImage(ref string) *engine.Image {
	return engine.ImageFromInspect(image.InspectResponse{
		ID: "sha256:" + ref,
		Config: &dockerspec.DockerOCIImageConfig{
			ImageConfig: ocispec.ImageConfig{Env: []string{"VERSION=" + ref}, ExposedPorts: map[string]struct{}{"8080/tcp": {}}},
			DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{
				Healthcheck: &dockerspec.HealthcheckConfig{Test: []string{"CMD", "/app", "health"}, Interval: time.Second, Timeout: time.Second, Retries: 3},
			},
		},
	})
}

func newWorld() *world {
	w := &world{
		containers: map[string]*engine.Container{},
		images:     map[string]*engine.Image{},
		routes:     map[string]string{},
		events:     make(chan engine.Event, 16),
		applied:    func(traefik.Expectation) error { return nil },
		afterStart: func(w *world, c *engine.Container) {
			w.events <- engine.Event{ContainerID: c.ID, Action: "health_status: healthy"}
		},
	}
	for _, ref := range []string{"myapp:v1", "myapp:v2"} {
		w.images[ref] = testImage(ref)
		w.images["sha256:"+ref] = w.images[ref]
	}
	old := inspected("web", "myapp:v1", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels["dswap.drain"] = "5s"
	})
	w.containers[old.ID] = old
	w.routes["web"] = routeFor(old)
	return w
}

// routeFor renders the route file that points at c, as dswap writes it.
func routeFor(c *engine.Container) string {
	r, err := labels.DecodeTraefik(c.Labels, "web", c.ExposedPorts)
	if err != nil {
		panic(err)
	}
	b, err := r.File("web", []labels.Target{{Host: c.Name}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (w *world) swapper() *Swapper {
	return New(Deps{
		Docker: fakeDocker{w}, Images: fakeImages{w}, Routes: fakeRoutes{w}, Traefik: fakeTraefik{w},
		Addressing: Addressing{TraefikNetworks: []string{"edge"}},
	})
}

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
	require.GreaterOrEqual(t, len(w.log), 2)
	assert.Equal(t, []string{"stop id-web-2 5s", "remove id-web-2"}, w.log[:2], "the unrouted container goes first, gracefully")
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
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.log[:2])
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
		"remove id-web-2",
	}, w.log, "the old container was never stopped; traffic went back to it")
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
