package swarm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/traefik"
)

// fakeCluster is a Swarm in memory: each look at the tasks converges every
// service at once (old tasks shut down, new ones running), as Swarm does
// over time; images in failing fail instead.
type fakeCluster struct {
	mu       sync.Mutex
	services map[string]*engine.SwarmService // by ID
	tasks    map[string][]engine.SwarmTask   // by service ID
	failing  map[string]bool
	// completing images' tasks end with exit code 0 at once.
	completing map[string]bool
	// slow makes two looks in three at a service's tasks see them as they
	// were, as a Swarm that converges over time.
	slow  bool
	looks map[string]int
	// digests are what the registry answers per reference.
	digests map[string]string
	nextID  int
	nextIP  int
	// conflicts makes the next n updates fail with ErrConflict, after
	// calling onConflict (another dswap writing meanwhile).
	conflicts  int
	onConflict func(f *fakeCluster)
	updates    []string // service names updated, in order
	removed    []string
	// afterUpdate runs after each successful update (a test's probe).
	afterUpdate func(f *fakeCluster, s *engine.SwarmService)
	// jobs are how one-off task services (release tasks) end, by the
	// task's script (its last argument); others exit 0 (tasks_test.go).
	jobs map[string]jobOutcome
}

const traefikNet = "net-traefik"

func newCluster() *fakeCluster {
	return &fakeCluster{services: map[string]*engine.SwarmService{}, tasks: map[string][]engine.SwarmTask{}, failing: map[string]bool{}, completing: map[string]bool{}, digests: map[string]string{}}
}

// addService adds a replicated service from a spec as Swarm stores it.
func (f *fakeCluster) addService(spec dswarm.ServiceSpec) *engine.SwarmService {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	svc := engine.SwarmServiceOf(dswarm.Service{ID: fmt.Sprintf("id-%d", f.nextID), Meta: dswarm.Meta{Version: dswarm.Version{Index: 1}}, Spec: spec})
	f.services[svc.ID] = svc
	return svc
}

func (f *fakeCluster) byName(name string) *engine.SwarmService {
	for _, s := range f.services {
		if s.Name == name || s.ID == name {
			return s
		}
	}
	return nil
}

func (f *fakeCluster) SwarmNode(context.Context) (engine.SwarmNode, error) {
	return engine.SwarmNode{NodeID: "node-1", Manager: true}, nil
}

func (f *fakeCluster) SwarmService(_ context.Context, name string) (*engine.SwarmService, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.byName(name)
	if s == nil {
		return nil, fmt.Errorf("service %s: %w", name, engine.ErrNotFound)
	}
	cp := *s
	return &cp, nil
}

func (f *fakeCluster) CreateSwarmService(_ context.Context, s *engine.SwarmService) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byName(s.Name) != nil {
		return "", fmt.Errorf("name conflicts with an existing object: %w", engine.ErrConflict)
	}
	f.nextID++
	cp := *s
	cp.ID, cp.Version = fmt.Sprintf("id-%d", f.nextID), 1
	f.services[cp.ID] = &cp
	return cp.ID, nil
}

func (f *fakeCluster) UpdateSwarmService(_ context.Context, s *engine.SwarmService) error {
	f.mu.Lock()
	cur := f.services[s.ID]
	if cur == nil {
		f.mu.Unlock()
		return fmt.Errorf("service %s: %w", s.ID, engine.ErrNotFound)
	}
	if f.conflicts > 0 {
		f.conflicts--
		if f.onConflict != nil {
			f.onConflict(f)
		}
		f.mu.Unlock()
		return fmt.Errorf("update out of sequence: %w", engine.ErrConflict)
	}
	if cur.Version != s.Version {
		f.mu.Unlock()
		return fmt.Errorf("update out of sequence: %w", engine.ErrConflict)
	}
	cp := *s
	cp.Version++
	f.services[s.ID] = &cp
	f.updates = append(f.updates, s.Name)
	hook := f.afterUpdate
	f.mu.Unlock()
	if hook != nil {
		hook(f, &cp)
	}
	return nil
}

func (f *fakeCluster) RemoveSwarmService(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.byName(id)
	if s == nil {
		return fmt.Errorf("service %s: %w", id, engine.ErrNotFound)
	}
	delete(f.services, s.ID)
	delete(f.tasks, s.ID)
	f.removed = append(f.removed, s.Name)
	return nil
}

// converge brings a service's tasks to its spec.
func (f *fakeCluster) converge(s *engine.SwarmService) {
	if isTask(s) {
		f.convergeTask(s)
		return
	}
	var keep []engine.SwarmTask
	live := 0
	for _, t := range f.tasks[s.ID] {
		if t.Running() && (t.Image != s.Image || live >= int(s.Replicas)) {
			t.State, t.DesiredState, t.Updated = "shutdown", "shutdown", time.Now()
		}
		if t.Running() {
			live++
		}
		keep = append(keep, t)
	}
	for slot := live + 1; slot <= int(s.Replicas); slot++ {
		f.nextIP++
		t := engine.SwarmTask{ID: fmt.Sprintf("task-%d", f.nextIP), ServiceID: s.ID, NodeID: "node-1", Slot: slot, Image: s.Image,
			State: "running", DesiredState: "running", Updated: time.Now(),
			Addresses: map[string]string{traefikNet: fmt.Sprintf("10.0.1.%d", f.nextIP)}}
		if f.failing[s.Image] {
			t.State, t.DesiredState, t.Err = "failed", "shutdown", "task: non-zero exit (137): dockerexec: unhealthy container"
		}
		if f.completing[s.Image] {
			// An unhealthy task whose app exits 0 on SIGTERM.
			t.State, t.DesiredState, t.Message = "complete", "shutdown", "finished"
		}
		keep = append(keep, t)
	}
	f.tasks[s.ID] = keep
}

func (f *fakeCluster) SwarmTasks(_ context.Context, id string) ([]engine.SwarmTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[id]
	if s == nil {
		return nil, nil
	}
	if f.looks == nil {
		f.looks = map[string]int{}
	}
	f.looks[id]++
	if !f.slow || f.looks[id]%3 == 0 {
		f.converge(s)
	}
	return append([]engine.SwarmTask(nil), f.tasks[id]...), nil
}

func (f *fakeCluster) SwarmServiceLogs(_ context.Context, id string, _ int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.byName(id); s != nil && isTask(s) {
		return f.jobs[script(s)].output, nil
	}
	return "listening on :8080\nhealth: not ready", nil
}

// FollowSwarmServiceLogs gives a task service's output lines, but for the
// job's last unfollowed, then waits until ctx ends, as Swarm's stream does.
func (f *fakeCluster) FollowSwarmServiceLogs(ctx context.Context, id string, line func(string)) error {
	f.mu.Lock()
	var lines []string
	if s := f.byName(id); s != nil && isTask(s) {
		job := f.jobs[script(s)]
		if job.output != "" {
			lines = strings.Split(job.output, "\n")
		}
		lines = lines[:max(len(lines)-job.unfollowed, 0)]
	}
	f.mu.Unlock()
	for _, l := range lines {
		line(l)
	}
	<-ctx.Done()
	return nil
}

func (f *fakeCluster) SwarmNodes(context.Context) (map[string]string, error) {
	return map[string]string{"node-1": "manager-1"}, nil
}

func (f *fakeCluster) SwarmServiceNames(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.services {
		out = append(out, s.Name)
	}
	return out, nil
}

// ResolveImage pins images listed in digests; others have no registry.
func (f *fakeCluster) ResolveImage(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.digests[ref]; ok {
		return ref + "@" + d, nil
	}
	return ref, fmt.Errorf("no registry answers for %s", ref)
}

// kill ends a running task of the service name, as a node going down
// does: Swarm starts a replacement with a new address.
func (f *fakeCluster) kill(name string, slot int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.byName(name)
	for i, t := range f.tasks[s.ID] {
		if t.Slot == slot && t.Running() {
			f.tasks[s.ID][i].State, f.tasks[s.ID][i].DesiredState = "failed", "shutdown"
		}
	}
}

// fakeTraefik confirms every write at once and keeps the servers of each.
type fakeTraefik struct {
	mu      sync.Mutex
	applied [][]string // servers of the service "web", per write
	refuse  bool
}

func (t *fakeTraefik) WaitApplied(_ context.Context, exp traefik.Expectation, _ time.Duration) (time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refuse {
		return 0, fmt.Errorf("Traefik did not show the route")
	}
	if servers, ok := exp.Servers["web"]; ok {
		t.applied = append(t.applied, servers)
	}
	return 10 * time.Millisecond, nil
}

func (t *fakeTraefik) Runtime(context.Context) (*traefik.Runtime, error) {
	return &traefik.Runtime{}, nil
}
func (t *fakeTraefik) ConfirmedBy() string { return "fake" }

type fakeImages struct{}

func (fakeImages) Ensure(_ context.Context, ref string, _ engine.Source) (*engine.Image, error) {
	return fakeImages{}.InspectImage(context.Background(), ref)
}

func (fakeImages) InspectImage(_ context.Context, ref string) (*engine.Image, error) {
	return &engine.Image{ID: "sha256:" + ref, ExposedPorts: []int{8080},
		Healthcheck: &engine.Healthcheck{Test: []string{"CMD", "/app", "health"}, Interval: time.Second, Timeout: time.Second, Retries: 3}}, nil
}

// world is one test's Swarm, Traefik, routes directory and history.
type world struct {
	cluster *fakeCluster
	traefik *fakeTraefik
	routes  *traefik.Dir
	history history.Store
	svc     *engine.SwarmService
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir, err := traefik.OpenDir(t.TempDir())
	require.NoError(t, err)
	w := &world{cluster: newCluster(), traefik: &fakeTraefik{}, routes: dir, history: history.Store{Dir: t.TempDir()}}
	w.svc = w.cluster.addService(webSpec("myapp:v1"))
	return w
}

func (w *world) swapper() *Swapper {
	return New(Deps{Cluster: w.cluster, Images: fakeImages{}, Routes: w.routes, Traefik: w.traefik, History: w.history,
		TraefikNetworks: map[string]string{traefikNet: "edge"}, Holder: "test:1", LockWait: 2 * time.Second, Poll: time.Millisecond})
}

// webSpec is the spec `docker stack deploy` gives service shop_web.
func webSpec(image string) dswarm.ServiceSpec {
	three := uint64(3)
	grace := 20 * time.Second
	return dswarm.ServiceSpec{
		Annotations: dswarm.Annotations{Name: "web", Labels: map[string]string{
			"com.docker.stack.namespace":                         "shop",
			"com.docker.stack.image":                             image,
			"traefik.http.routers.web.rule":                      "Host(`web.local`)",
			"traefik.http.services.web.loadbalancer.server.port": "8080",
			"dswap.drain":                                        "1s",
		}},
		TaskTemplate: dswarm.TaskSpec{
			ContainerSpec: &dswarm.ContainerSpec{Image: image, Env: []string{"MODE=prod"}, StopGracePeriod: &grace,
				Labels: map[string]string{"com.docker.stack.namespace": "shop"}},
			Networks: []dswarm.NetworkAttachmentConfig{{Target: traefikNet, Aliases: []string{"web"}}},
		},
		Mode: dswarm.ServiceMode{Replicated: &dswarm.ReplicatedService{Replicas: &three}},
	}
}

// routedServers are the servers the route file of web names.
func (w *world) routedHosts(t *testing.T) []string {
	t.Helper()
	hosts, _, err := w.swapper().routedHosts("web")
	require.NoError(t, err)
	return hosts
}

// assertServiceBackOnV1 checks that service web runs myapp:v1 again (or
// still), its lock released, and that its bridge is gone.
func assertServiceBackOnV1(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	svc, err := w.cluster.SwarmService(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel)
	_, err = w.cluster.SwarmService(ctx, BridgeName("web"))
	assert.ErrorIs(t, err, engine.ErrNotFound, "bridge removed")
}
