package swap

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// replicaWorld is a compose service "web" of project "shop" with n
// replicas of myapp:v1, routed.
func replicaWorld(t *testing.T, n int) *world {
	t.Helper()
	w := newWorld()
	delete(w.containers, "id-web")
	var cs []*engine.Container
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("shop-web-%d", i)
		c := inspected(name, "myapp:v1", func(r *container.InspectResponse) {
			r.Config.Labels["com.docker.compose.project"] = "shop"
			r.Config.Labels["com.docker.compose.service"] = "web"
			r.Config.Labels["com.docker.compose.container-number"] = fmt.Sprint(i)
			r.Config.Labels["dswap.drain"] = "5s"
			r.Created = time.Unix(int64(1000+i), 0).Format(time.RFC3339Nano)
		})
		w.containers[c.ID] = c
		cs = append(cs, c)
	}
	w.routes = map[string]string{"shop_web": routeForAll(cs)}
	return w
}

func routeForAll(cs []*engine.Container) string {
	r, err := labels.DecodeTraefik(cs[0].Labels, "web", cs[0].ExposedPorts)
	if err != nil {
		panic(err)
	}
	var targets []labels.Target
	for _, c := range cs {
		targets = append(targets, labels.Target{Host: c.Name})
	}
	b, err := r.File("web", targets)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// routedNow lists the hosts the service's route file names.
func (w *world) routedNow(t *testing.T) []string {
	t.Helper()
	rf, err := labels.ReadRouteFile([]byte(w.routes["shop_web"]))
	require.NoError(t, err)
	return rf.Hosts()
}

func (w *world) running() []string {
	var out []string
	for _, c := range w.containers {
		if c.State.Running {
			out = append(out, c.Name+"="+c.Image)
		}
	}
	sort.Strings(out)
	return out
}

func TestRollingUpdateOneAtATime(t *testing.T) {
	w := replicaWorld(t, 3)
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web"})
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-web-4", "shop-web-5", "shop-web-6"}, res.New)
	assert.Equal(t, []string{
		"create shop-web-4 myapp:v2", "start id-shop-web-4",
		"route shop_web http://shop-web-2:8080,http://shop-web-3:8080,http://shop-web-4:8080",
		"confirm [http://shop-web-2:8080 http://shop-web-3:8080 http://shop-web-4:8080] err=<nil>",
		"stop id-shop-web-1 5s", "remove id-shop-web-1",
		"create shop-web-5 myapp:v2", "start id-shop-web-5",
		"route shop_web http://shop-web-3:8080,http://shop-web-4:8080,http://shop-web-5:8080",
		"confirm [http://shop-web-3:8080 http://shop-web-4:8080 http://shop-web-5:8080] err=<nil>",
		"stop id-shop-web-2 5s", "remove id-shop-web-2",
		"create shop-web-6 myapp:v2", "start id-shop-web-6",
		"route shop_web http://shop-web-4:8080,http://shop-web-5:8080,http://shop-web-6:8080",
		"confirm [http://shop-web-4:8080 http://shop-web-5:8080 http://shop-web-6:8080] err=<nil>",
		"stop id-shop-web-3 5s", "remove id-shop-web-3",
	}, w.log, "at every route change three healthy containers are routed")
	assert.Equal(t, "4", w.containers["id-shop-web-4"].Labels["com.docker.compose.container-number"])
}

func TestAtomicUpdate(t *testing.T) {
	w := replicaWorld(t, 2)
	all := 0
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Parallelism: &all}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create shop-web-3 myapp:v2", "create shop-web-4 myapp:v2", "start id-shop-web-3", "start id-shop-web-4",
		"route shop_web http://shop-web-3:8080,http://shop-web-4:8080",
		"confirm [http://shop-web-3:8080 http://shop-web-4:8080] err=<nil>",
	}, w.log[:6], "all new containers take traffic in one flip: no mixed versions")
	assert.Equal(t, []string{"shop-web-3=myapp:v2", "shop-web-4=myapp:v2"}, w.running())
}

// failSecondBatch makes the second new container of myapp:v2 unhealthy.
func failSecondBatch(w *world) {
	started := 0
	w.afterStart = func(w *world, c *engine.Container) {
		action := "health_status: healthy"
		if c.Image == "myapp:v2" {
			w.mu.Lock()
			started++
			n := started
			w.mu.Unlock()
			if n == 2 {
				action = "health_status: unhealthy"
			}
		}
		w.events <- engine.Event{ContainerID: c.ID, Action: action}
	}
}

func TestFailureInBatchTwoRollsBackBatchOne(t *testing.T) {
	w := replicaWorld(t, 3)
	failSecondBatch(w)
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Contains(t, failed.Error(), "shop-web-5 is unhealthy")
	assert.Equal(t, []string{"shop-web-2=myapp:v1", "shop-web-3=myapp:v1", "shop-web-6=myapp:v1"}, w.running(), "three v1 containers serve again")
	assert.Equal(t, []string{"shop-web-2", "shop-web-3", "shop-web-6"}, w.routedNow(t))
	assert.Contains(t, failed.Kept, "myapp:v1 (shop-web-2, shop-web-3, shop-web-6) serve again: the 1 batch(es) already updated were rolled back")
	// The v2 container of batch one left the route only once its v1
	// replacement was routed.
	logs := strings.Join(w.log, "\n")
	assert.Less(t, strings.Index(logs, "route shop_web http://shop-web-2:8080,http://shop-web-3:8080,http://shop-web-6:8080"), strings.Index(logs, "stop id-shop-web-4"))
}

func TestFailureInBatchTwoPauses(t *testing.T) {
	w := replicaWorld(t, 3)
	failSecondBatch(w)
	pause := "pause"
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{FailureAction: &pause}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Contains(t, failed.Kept, "the update is paused")
	assert.Equal(t, []string{"shop-web-2=myapp:v1", "shop-web-3=myapp:v1", "shop-web-4=myapp:v2"}, w.running())
}

func TestMaxFailureRatioToleratesAFailedBatch(t *testing.T) {
	w := replicaWorld(t, 3)
	failSecondBatch(w)
	ratio := 0.34
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{MaxFailureRatio: &ratio}})
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-web-2=myapp:v1", "shop-web-4=myapp:v2", "shop-web-6=myapp:v2"}, w.running(), "the failed batch keeps its old container")
}

func TestScaleUpAndDown(t *testing.T) {
	w := replicaWorld(t, 1)
	three := 3
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Replicas: &three}})
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-web-2=myapp:v2", "shop-web-3=myapp:v2", "shop-web-4=myapp:v2"}, w.running())

	w.log = nil
	one := 1
	_, err = w.swapper().Up(context.Background(), Request{Image: "myapp:v1", Service: "shop/web", Overrides: Overrides{Replicas: &one}})
	require.NoError(t, err)
	assert.Len(t, w.running(), 1)
	assert.Equal(t, []string{"shop-web-5"}, w.routedNow(t))
}

func TestStopFirstOrder(t *testing.T) {
	w := replicaWorld(t, 1)
	order := "stop-first"
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Order: &order}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"route shop_web ", "confirm [] err=<nil>", "stop id-shop-web-1 5s", "remove id-shop-web-1",
		"create shop-web-2 myapp:v2", "start id-shop-web-2",
		"route shop_web http://shop-web-2:8080", "confirm [http://shop-web-2:8080] err=<nil>",
	}, w.log, "the old container leaves before the new one starts")
}

func TestStopFirstAllowsFixedHostPorts(t *testing.T) {
	w := replicaWorld(t, 1)
	old := w.containers["id-shop-web-1"]
	w.containers[old.ID] = inspected("shop-web-1", "myapp:v1", func(r *container.InspectResponse) {
		for k, v := range old.Labels {
			r.Config.Labels[k] = v
		}
		r.HostConfig.PortBindings = nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}}
	})

	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web"})
	require.Error(t, err, "start-first cannot hold a fixed host port twice")
	assert.Contains(t, err.Error(), "publishes host port(s) 127.0.0.1:8080->8080/tcp")
	assert.Empty(t, w.log, "refused while planning")

	order := "stop-first"
	_, err = w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Order: &order}})
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-web-2=myapp:v2"}, w.running())
}
