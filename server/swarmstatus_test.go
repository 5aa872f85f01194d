package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
	"github.com/dswap-dev/dswap/traefik"
)

// swarmNet is the ID of the overlay network the fake Swarm's services
// share with Traefik's container.
const swarmNet = "net-edge"

// fakeSwarm is a Swarm manager in memory with fixed services and tasks.
// What a status never asks is left to the embedded nil interface; an
// update (the first write of a swap, its lock label) is refused and
// recorded.
type fakeSwarm struct {
	swarmswap.Cluster
	manager  bool
	services map[string]*engine.SwarmService // by name
	tasks    map[string][]engine.SwarmTask   // by service ID
	failNode error

	mu      sync.Mutex
	updates []string
	// missing are the names looked up that no service has.
	missing []string
}

var errUpdateRefused = errors.New("fake Swarm: updates refused in this test")

func newFakeSwarm() *fakeSwarm {
	return &fakeSwarm{manager: true, services: map[string]*engine.SwarmService{}, tasks: map[string][]engine.SwarmTask{}}
}

// add adds a service of image with one running task per address, on the
// network shared with Traefik.
func (f *fakeSwarm) add(name, image string, addrs ...string) *engine.SwarmService {
	svc := &engine.SwarmService{ID: "id-" + name, Name: name, Version: 1, Image: image, Replicas: uint64(len(addrs)), Networks: []string{swarmNet}, Labels: map[string]string{}}
	f.services[name] = svc
	for i, a := range addrs {
		f.tasks[svc.ID] = append(f.tasks[svc.ID], engine.SwarmTask{
			ID: fmt.Sprintf("task-%s-%d", name, i+1), ServiceID: svc.ID, NodeID: "node-a", Slot: i + 1, Image: image,
			State: "running", DesiredState: "running", Addresses: map[string]string{swarmNet: a},
		})
	}
	return svc
}

func (f *fakeSwarm) SwarmNode(context.Context) (engine.SwarmNode, error) {
	if f.failNode != nil {
		return engine.SwarmNode{}, f.failNode
	}
	return engine.SwarmNode{NodeID: "node-a", Manager: f.manager}, nil
}

func (f *fakeSwarm) SwarmService(_ context.Context, name string) (*engine.SwarmService, error) {
	s, ok := f.services[name]
	if !ok {
		f.mu.Lock()
		f.missing = append(f.missing, name)
		f.mu.Unlock()
		return nil, fmt.Errorf("service %s: %w", name, engine.ErrNotFound)
	}
	cp := *s
	return &cp, nil
}

func (f *fakeSwarm) SwarmTasks(_ context.Context, id string) ([]engine.SwarmTask, error) {
	return append([]engine.SwarmTask(nil), f.tasks[id]...), nil
}

func (f *fakeSwarm) SwarmNodes(context.Context) (map[string]string, error) {
	return map[string]string{"node-a": "manager-1"}, nil
}

func (f *fakeSwarm) SwarmServiceNames(context.Context) ([]string, error) {
	var out []string
	for n := range f.services {
		out = append(out, n)
	}
	return out, nil
}

func (f *fakeSwarm) UpdateSwarmService(_ context.Context, s *engine.SwarmService) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, s.Name)
	return errUpdateRefused
}

func (f *fakeSwarm) updated() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.updates...)
}

// countingDocker is an Engine with no container that counts the container
// path's looks at it.
type countingDocker struct {
	swap.Docker
	mu    sync.Mutex
	lists int
}

func (d *countingDocker) List(context.Context, engine.ListFilter) ([]*engine.Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lists++
	return nil, nil
}

func (d *countingDocker) listed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lists
}

// swarmRoute is a route file naming the hosts, as dswap writes one.
func swarmRoute(name string, hosts ...string) []byte {
	out := fmt.Sprintf("http:\n  services:\n    %s:\n      loadBalancer:\n        servers:\n", name)
	for _, h := range hosts {
		out += fmt.Sprintf("          - url: http://%s:8080\n", h)
	}
	return []byte(out)
}

// swarmBackend is a sidecar's backend on a manager of the fake Swarm:
// shop_web (three tasks, two of them routed) and its route, a routed
// service that has no route file (unrouted), and history in a directory
// of the test's own.
type swarmBackend struct {
	*SwapBackend
	swarm   *fakeSwarm
	docker  *countingDocker
	history history.Store
	routes  *traefik.Dir
}

func newSwarmBackend(t *testing.T) *swarmBackend {
	t.Helper()
	dir, err := traefik.OpenDir(t.TempDir())
	require.NoError(t, err)
	fs := newFakeSwarm()
	fs.add("shop_web", "myapp:v2", "10.0.1.5", "10.0.1.6", "10.0.1.7")
	fs.add("unrouted", "other:v1", "10.0.1.9")
	require.NoError(t, dir.Write(swap.KeyOf("shop_web"), swarmRoute("shop_web", "10.0.1.5", "10.0.1.6")))
	store := history.Store{Dir: dir.StagingPath()}
	docker := &countingDocker{}
	b := &SwapBackend{
		Deps: swap.Deps{Docker: docker, Routes: dir, History: store},
		Swarm: &swarmswap.Deps{
			Cluster: fs, Routes: dir, History: store,
			TraefikNetworks: map[string]string{swarmNet: "edge"},
			Holder:          "test",
		},
	}
	return &swarmBackend{SwapBackend: b, swarm: fs, docker: docker, history: store, routes: dir}
}

func TestSwarmStatusOfOneServiceAndOfTheRoutedOnes(t *testing.T) {
	b := newSwarmBackend(t)
	ctx := context.Background()

	one, err := b.SwarmStatus(ctx, "shop_web")
	require.NoError(t, err)
	require.Len(t, one, 1)
	st := one[0]
	assert.Equal(t, "shop_web", st.Service)
	assert.True(t, st.Swarm)
	assert.Equal(t, "myapp:v2", st.Image)
	assert.Equal(t, uint64(3), st.Replicas)
	assert.Equal(t, b.routes.FileFor(swap.KeyOf("shop_web")), st.RouteFile)
	assert.Equal(t, []string{"10.0.1.5", "10.0.1.6"}, st.Routed)
	require.Len(t, st.Tasks, 3)
	routed := map[string]bool{}
	for _, task := range st.Tasks {
		assert.Equal(t, "manager-1", task.Node)
		assert.Equal(t, "running", task.State)
		assert.Equal(t, "myapp:v2", task.Image)
		routed[task.Address] = task.Routed
	}
	assert.Equal(t, map[string]bool{"10.0.1.5": true, "10.0.1.6": true, "10.0.1.7": false}, routed)

	// A Swarm service without a route file is still answered by name; the
	// list holds only the routed ones, as dswap status lists them.
	unrouted, err := b.SwarmStatus(ctx, "unrouted")
	require.NoError(t, err)
	require.Len(t, unrouted, 1)
	assert.Empty(t, unrouted[0].Routed)
	all, err := b.SwarmStatus(ctx, "")
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "shop_web", all[0].Service)

	// A name that is no Swarm service, or a sidecar whose Engine is no
	// manager, answers nothing: the container path answers then.
	none, err := b.SwarmStatus(ctx, "proj/web")
	require.NoError(t, err)
	assert.Nil(t, none)
	b.swarm.manager = false
	none, err = b.SwarmStatus(ctx, "shop_web")
	require.NoError(t, err)
	assert.Nil(t, none)
	none, err = b.SwarmStatus(ctx, "")
	require.NoError(t, err)
	assert.Nil(t, none)
	assert.Zero(t, b.docker.listed(), "the Swarm status never looks at containers")
	assert.Empty(t, b.swarm.missing, "no service is inspected that the list does not have (a bridge, a container service's name): the Engine logs each such inspect as an error, and the status page asks every 2 s")
}

// A bridge a killed swap left: its tasks are in the status, and
// interrupted says what puts it right.
func TestSwarmStatusShowsABridgeLeftBehind(t *testing.T) {
	b := newSwarmBackend(t)
	bridge := b.swarm.add("shop_web-dswap", "myapp:v3", "10.0.1.21")
	bridge.Labels[swarmswap.BridgeOfLabel] = "shop_web"
	// Another service of that name, not dswap's, is not a bridge.
	b.swarm.add("other-dswap", "x:v1", "10.0.1.22")
	b.swarm.add("other", "x:v1", "10.0.1.23")

	sts, err := b.SwarmStatus(context.Background(), "shop_web")
	require.NoError(t, err)
	require.Len(t, sts, 1)
	assert.Contains(t, sts[0].Interrupted, "the bridge service shop_web-dswap (myapp:v3) is left; the next dswap up, sync or rollback of shop_web puts it right")
	var names []string
	for _, task := range sts[0].Tasks {
		names = append(names, task.Name)
	}
	assert.ElementsMatch(t, []string{"shop_web.1", "shop_web.2", "shop_web.3", "shop_web-dswap.1"}, names)

	other, err := b.SwarmStatus(context.Background(), "other")
	require.NoError(t, err)
	require.Len(t, other, 1)
	assert.Empty(t, other[0].Interrupted)
	assert.Len(t, other[0].Tasks, 1)
}

func TestSwarmStatusSaysWhyTheManagerCouldNotBeRead(t *testing.T) {
	b := newSwarmBackend(t)
	b.swarm.failNode = errors.New("Cannot connect to the Docker daemon")
	_, err := b.SwarmStatus(context.Background(), "shop_web")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "looking for Swarm service shop_web: Cannot connect to the Docker daemon")
	_, err = b.SwarmStatus(context.Background(), "")
	assert.ErrorContains(t, err, "listing the Swarm services dswap routes")
}

func TestSwarmStatusLeavesOutAServiceRemovedSinceItWasListed(t *testing.T) {
	b := newSwarmBackend(t)
	// A route file whose service is gone is not listed (Routed lists
	// services), and one that goes between the list and its status is
	// skipped rather than failing the whole list.
	require.NoError(t, b.routes.Write(swap.KeyOf("gone"), swarmRoute("gone", "10.0.1.8")))
	b.Swarm.Cluster = vanishing{fakeSwarm: b.swarm, name: "gone"}
	all, err := b.SwarmStatus(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "shop_web", all[0].Service)
}

// vanishing lists a service that is not found when looked at.
type vanishing struct {
	*fakeSwarm
	name string
}

func (v vanishing) SwarmServiceNames(ctx context.Context) ([]string, error) {
	names, err := v.fakeSwarm.SwarmServiceNames(ctx)
	return append(names, v.name), err
}

func TestSwarmHistoryIsReadUnderTheServicesKey(t *testing.T) {
	b := newSwarmBackend(t)
	started := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	require.NoError(t, b.history.Append(swap.KeyOf("shop_web"), history.Entry{ID: "1", Service: "shop_web", Started: started, Result: "swapped", FromImage: "myapp:v1", ToImage: "myapp:v2"}))
	entries, err := b.History(context.Background(), "shop_web")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "myapp:v2", entries[0].ToImage)
	assert.Equal(t, "swapped", entries[0].Result)
	assert.Zero(t, b.docker.listed(), "a Swarm service's history is not looked for among containers")

	// No Swarm service of that name: the container path looks for it.
	_, err = b.History(context.Background(), "proj/web")
	require.Error(t, err)
	assert.Equal(t, 1, b.docker.listed())
}

// The sidecar's swap and rollback of a Swarm service take the Swarm path
// (its first write is the lock label on the service), never the container
// path; a name that is no Swarm service goes to the container path.
func TestSwapAndRollbackOfASwarmServiceTakeTheSwarmPath(t *testing.T) {
	b := newSwarmBackend(t)
	b.Deps.Locks = &busyLocks{}
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	_, err := b.Swap(ctx, swap.Request{Image: "myapp:v3", Service: "shop_web"}, SwapOptions{}, log)
	require.ErrorIs(t, err, errUpdateRefused)
	assert.Equal(t, []string{"shop_web"}, b.swarm.updated(), "the Swarm path locks the service with a label")

	// Rollback reads the Swarm service's history: none here, so it says
	// so in the Swarm path's own words.
	_, err = b.Rollback(ctx, "shop_web", swap.Overrides{}, log)
	require.ErrorIs(t, err, swap.ErrBadInput)
	assert.Contains(t, err.Error(), "the history of shop_web has no swap to the image it runs now (myapp:v2)")
	assert.Zero(t, b.docker.listed(), "a Swarm service's swap never looks at containers")

	_, err = b.Swap(ctx, swap.Request{Image: "myapp:v3", Service: "proj/web"}, SwapOptions{}, log)
	require.Error(t, err)
	assert.Positive(t, b.docker.listed(), "a name that is no Swarm service goes to the container path")
	assert.Equal(t, []string{"shop_web"}, b.swarm.updated())
}

// The API answers a Swarm service in the shape `dswap status --output
// json` prints it, and lists it after the container services.
func TestAPIAnswersSwarmServicesStatusAndHistory(t *testing.T) {
	b := newSwarmBackend(t)
	require.NoError(t, b.history.Append(swap.KeyOf("shop_web"), history.Entry{ID: "1", Service: "shop_web", Result: "swapped", FromImage: "myapp:v1", ToImage: "myapp:v2"}))
	s, err := New(context.Background(), Options{Backend: b.SwapBackend, Token: testToken})
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()

	code, body := call(t, http.MethodGet, hs.URL+"/v1/services/shop_web", nil, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var one map[string]any
	require.NoError(t, json.Unmarshal(body, &one))
	assert.Equal(t, true, one["swarm"])
	assert.Equal(t, "shop_web", one["service"])
	assert.Equal(t, "myapp:v2", one["image"])
	assert.EqualValues(t, 3, one["replicas"])
	assert.Equal(t, []any{"10.0.1.5", "10.0.1.6"}, one["routed"])
	tasks, _ := one["tasks"].([]any)
	require.Len(t, tasks, 3)
	first, _ := tasks[0].(map[string]any)
	for _, key := range []string{"name", "node", "state", "image", "address", "routed"} {
		assert.Contains(t, first, key)
	}
	assert.NotContains(t, one, "containers", "a Swarm service has tasks, not containers")

	code, body = call(t, http.MethodGet, hs.URL+"/v1/services", nil, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	assert.Equal(t, "shop_web", list[0]["service"])
	assert.Equal(t, true, list[0]["swarm"])

	code, body = call(t, http.MethodGet, hs.URL+"/v1/services/shop_web/history", nil, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var entries []history.Entry
	require.NoError(t, json.Unmarshal(body, &entries))
	require.Len(t, entries, 1)
	assert.Equal(t, "myapp:v2", entries[0].ToImage)

	code, body = call(t, http.MethodGet, hs.URL+"/v1/services/nothing", nil, nil)
	assert.NotEqual(t, http.StatusOK, code, string(body))
}

// With container services beside Swarm services, the list has both, the
// container services first; a name answers the Swarm service first.
func TestAPIListsContainerServicesThenSwarmServices(t *testing.T) {
	fb := &fakeBackend{swarm: []*swarmswap.Status{{Service: "shop_web", Swarm: true, Image: "myapp:v2", Replicas: 1, Routed: []string{"10.0.1.5"},
		Tasks: []swarmswap.TaskStatus{{Name: "shop_web.1", Node: "manager-1", State: "running", Image: "myapp:v2", Address: "10.0.1.5", Routed: true}}}}}
	_, hs, _ := testServer(t, Options{Backend: fb})

	code, body := call(t, http.MethodGet, hs.URL+"/v1/services", nil, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 2)
	assert.Equal(t, "web", list[0]["service"])
	assert.Contains(t, list[0], "containers")
	assert.Equal(t, "shop_web", list[1]["service"])
	assert.Equal(t, true, list[1]["swarm"])

	code, body = call(t, http.MethodGet, hs.URL+"/v1/services/shop_web", nil, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	assert.JSONEq(t, `{"service":"shop_web","swarm":true,"image":"myapp:v2","replicas":1,"route_file":"","routed":["10.0.1.5"],
		"tasks":[{"name":"shop_web.1","node":"manager-1","state":"running","image":"myapp:v2","address":"10.0.1.5","routed":true}]}`, string(body))

	fb.mu.Lock()
	fb.swarmErr = errors.New("listing Swarm services: Cannot connect to the Docker daemon")
	fb.mu.Unlock()
	code, body = call(t, http.MethodGet, hs.URL+"/v1/services", nil, nil)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, string(body), "Cannot connect to the Docker daemon")
}
