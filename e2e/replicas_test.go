package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// startReplicas runs n containers of one service (dswap.service label) and
// lets dswap route all of them.
func startReplicas(t *testing.T, base string, n int) *service {
	t.Helper()
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := base + "-" + randomHex(2)
	s := &service{name: name, host: name + ".test"}
	t.Cleanup(func() { s.remove(t) })
	for i := 1; i <= n; i++ {
		id, err := suite.lab.RunApp(ctx, lab.App{Name: fmt.Sprintf("%s-r%d", name, i), Image: image(imgV1), Labels: map[string]string{
			"traefik.enable":                                              "false",
			"traefik.http.routers." + name + ".rule":                      "Host(`" + s.host + "`)",
			"traefik.http.services." + name + ".loadbalancer.server.port": "8080",
			"dswap.service":                                               name,
			"dswap.name":                                                  name,
			"dswap.drain":                                                 "5s",
		}})
		require.NoError(t, err)
		require.NoError(t, suite.lab.WaitHealthy(ctx, id, 30*time.Second))
	}
	run := runDswap(t, "sync", name)
	require.Equal(t, 0, run.code, run.stderr)
	return s
}

// serverSampler reads the service's servers from Traefik's API every 20 ms
// and keeps the smallest count it saw.
type serverSampler struct {
	mu      sync.Mutex
	min     int
	samples int
	stop    context.CancelFunc
	done    chan struct{}
}

func sampleServers(t *testing.T, svc *service) *serverSampler {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	s := &serverSampler{min: 1 << 30, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			if n, ok := routedServers(ctx, svc); ok {
				s.mu.Lock()
				s.min = min(s.min, n)
				s.samples++
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	return s
}

func (s *serverSampler) finish() (minServers, samples int) {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.min, s.samples
}

func routedServers(ctx context.Context, svc *service) (int, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, suite.lab.APIURL+"/api/http/services/"+svc.name+"@file", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		LoadBalancer struct {
			Servers []struct{ URL string } `json:"servers"`
		} `json:"loadBalancer"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return 0, false
	}
	return len(body.LoadBalancer.Servers), true
}

// TestRollingUpdateOfReplicas: three replicas replaced one at a time under
// load; Traefik never routes fewer than three.
func TestRollingUpdateOfReplicas(t *testing.T) {
	svc := startReplicas(t, "replicas", 3)
	sampler := sampleServers(t, svc)
	run, rep := svc.swapUnderLoad(t, 8, "delay=20ms", image(imgV2), "--parallelism", "1")
	minServers, samples := sampler.finish()
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assert.GreaterOrEqual(t, minServers, 3, "capacity never dropped below three routed containers (%d samples)", samples)
	assert.Positive(t, samples)
	cs := svc.containers(t)
	require.Len(t, cs, 3)
	for _, c := range cs {
		assert.Equal(t, image(imgV2), c.Image)
		assert.Equal(t, "running", c.State)
	}
	t.Logf("figures: requests=%d failed=%d, min routed servers=%d over %d samples, total=%.2fs", rep.Total, rep.Failed, minServers, samples, run.result.TotalSeconds)
}

// TestFailureInBatchTwoRollsBack: the second batch's container dies while
// starting; the first batch is rolled back and three v1 containers serve.
func TestFailureInBatchTwoRollsBack(t *testing.T) {
	svc := startReplicas(t, "batchfail", 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := make(chan string, 1)
	go func() {
		// Kill the second v2 container as soon as it exists: a crash at start.
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			cs, err := suite.lab.ContainersOf(cctx, "dswap.service="+svc.name)
			ccancel()
			if err != nil {
				continue
			}
			var v2 []lab.Container
			for _, c := range cs {
				if c.Image == image(imgSlowReady) && c.State == "running" {
					v2 = append(v2, c)
				}
			}
			if len(v2) == 2 {
				// The second batch's container is the newer name.
				newest := v2[0]
				if v2[1].Name > newest.Name {
					newest = v2[1]
				}
				dockerCLI(t, "kill", newest.ID)
				killed <- newest.Name
				return
			}
		}
	}()
	run, rep := svc.swapUnderLoad(t, 8, "delay=20ms", image(imgSlowReady), "--parallelism", "1")
	cancel()
	assert.Equal(t, 1, run.code)
	assert.Contains(t, run.result.Error, "exited")
	assert.Contains(t, run.result.Kept, "serve again: the 1 batch(es) already updated were rolled back")
	assertNoFailedRequests(t, rep)
	cs := svc.containers(t)
	require.Len(t, cs, 3, "three containers, none left over: %v", cs)
	for _, c := range cs {
		assert.Equal(t, image(imgV1), c.Image)
		assert.Equal(t, "running", c.State)
	}
	select {
	case name := <-killed:
		t.Logf("killed %s during batch two", name)
	default:
		t.Fatal("the second batch's container was never seen")
	}
}
