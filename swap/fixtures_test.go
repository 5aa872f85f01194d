package swap

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// containerOpt adjusts a test container.
type containerOpt func(*engine.Container)

func ctr(name, image string, opts ...containerOpt) *engine.Container {
	c := &engine.Container{
		ID: "id-" + name, Name: name, Image: image, ImageID: "sha256:" + image,
		Labels:   map[string]string{},
		State:    engine.State{Running: true, Status: "running"},
		Networks: map[string]engine.Endpoint{"appnet": {IPAddress: "10.0.0.2"}},
		Created:  time.Unix(1000, 0),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withLabel(k, v string) containerOpt { return func(c *engine.Container) { c.Labels[k] = v } }

func stopped() containerOpt {
	return func(c *engine.Container) { c.State = engine.State{Status: "exited"} }
}

func createdAt(sec int64) containerOpt {
	return func(c *engine.Container) { c.Created = time.Unix(sec, 0) }
}

func onNetworks(nets ...string) containerOpt {
	return func(c *engine.Container) {
		c.Networks = map[string]engine.Endpoint{}
		for i, n := range nets {
			c.Networks[n] = engine.Endpoint{IPAddress: "10.0." + string(rune('1'+i)) + ".2"}
		}
	}
}

func inCompose(project, service, number string) containerOpt {
	return func(c *engine.Container) {
		c.Labels["com.docker.compose.project"] = project
		c.Labels["com.docker.compose.service"] = service
		c.Labels["com.docker.compose.container-number"] = number
	}
}

func names(cs []*engine.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

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
	// waits are the timeouts Traefik was given to show each write.
	waits []time.Duration
	// runtime, when set, is what Traefik's API answers; errHeldBack from
	// applied makes a confirmation wait out its timeout (or ctx).
	runtime func() (*traefik.Runtime, error)
	// ensured are the images asked for, and how to get them.
	ensured []ensured
	// commands are the commands of the containers created, by ID, for
	// the fake release tasks (see fakeTasks).
	commands map[string][]string
	// taskExits deliver the fake release tasks' exit codes, by ID.
	taskExits map[string]chan engine.WaitResult
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
	f.w.commands[c.ID] = spec.Command()
	f.w.mu.Unlock()
	return c.ID, nil
}

func (f fakeDocker) Start(_ context.Context, id string) error {
	f.w.record("start %s", id)
	f.w.mu.Lock()
	c := f.w.containers[id]
	c.State.Running, c.State.Status = true, "running"
	f.w.mu.Unlock()
	if c.Labels[TaskLabel] == "" {
		// A release task's container runs under fakeTasks.
		go f.w.afterStart(f.w, c)
	}
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

// ensured is one image asked for and how to get it.
type ensured struct {
	ref string
	src engine.Source
}

func (f fakeImages) Ensure(ctx context.Context, ref string, src engine.Source) (*engine.Image, error) {
	f.w.mu.Lock()
	f.w.ensured = append(f.w.ensured, ensured{ref, src})
	f.w.mu.Unlock()
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

func (f fakeTraefik) WaitApplied(ctx context.Context, exp traefik.Expectation, timeout time.Duration) (time.Duration, error) {
	f.w.mu.Lock()
	f.w.waits = append(f.w.waits, timeout)
	f.w.mu.Unlock()
	err := f.w.applied(exp)
	if errors.Is(err, errHeldBack) {
		select {
		case <-ctx.Done():
			err = fmt.Errorf("stopped waiting: %w", ctx.Err())
		case <-time.After(timeout):
		}
	}
	f.w.record("confirm %v err=%v", flatten(exp.Servers), err)
	return 10 * time.Millisecond, err
}

// errHeldBack is a confirmation Traefik never gives: it answers, but holds
// back its whole directory.
var errHeldBack = errors.New("Traefik did not apply the route")

func (f fakeTraefik) ConfirmedBy() string { return "Traefik API" }

func (f fakeTraefik) Runtime(context.Context) (*traefik.Runtime, error) {
	if f.w.runtime != nil {
		return f.w.runtime()
	}
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
		commands:   map[string][]string{},
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
