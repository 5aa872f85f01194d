package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// TestSwarmCanaryTakesOutABadReleaseThenPromotesAGoodOne runs canary steps
// on a 3-replica Swarm service under load, judged on Traefik's metrics:
// a release that answers 500 to one request in five is taken out in its
// first step (the service stays on v1, the bridge is gone, the failures
// are bounded by what the canary's share could fail); a canary paused with
// --pause keeps its split after dswap exits and dswap abort takes it out
// with nothing failed, as dswap sync does with a canary whose dswap was
// killed during a step; then a good v2 passes both steps and ends with all
// the traffic, nothing failed, and Traefik's API showed the weighted route
// during the steps.
func TestSwarmCanaryTakesOutABadReleaseThenPromotesAGoodOne(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 1})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v1, v2 := buildVersions(ctx, t, s)
	bad := s.Prefix + "-app:bad"
	require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: bad, Version: "bad", Env: map[string]string{"FAIL_RATE": "0.2"}}))
	app := createService(t, s, v1, 3)
	adopt := runDswap(t, bin, s, "sync", app.name)
	require.Zero(t, adopt.code, adopt.stderr)
	awaitRouted(t, s, app.name, urlsOf(awaitTasks(t, s, app.name, 3, time.Minute)), 30*time.Second)

	canaryUnderLoad := func(args ...string) (dswapRun, *loadgen.Report, []string) {
		t.Helper()
		return canaryRun(t, bin, s, app, args...)
	}

	// A bad release: taken out in its first step.
	run, rep, states := canaryUnderLoad(append([]string{"up", bad, "--service", app.name}, gate...)...)
	assert.Equal(t, 1, run.code, "a failed canary exits 1: %s", run.stderr)
	assert.Regexp(t, `error rate [0-9.]+% \([0-9]+ of [0-9]+\) > 1% at 20%`, run.stderr)
	assert.Contains(t, run.stderr, "canary step 1 of 2")
	assert.NotContains(t, run.stderr, "canary step 2 of 2", "taken out in the first step")
	assert.Contains(t, run.stderr, "keeps serving")
	assert.Contains(t, states, "weighted 80/20 canary=1 stable=3", "Traefik showed the 20% step")
	assert.Equal(t, "plain 3", states[len(states)-1], "the route names the service's 3 tasks alone again")
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
	assert.NotContains(t, docker(t, s, "service", "inspect", "--format", "{{json .Spec.Labels}}", app.name), "dswap.lock")
	requests, failed, window := canaryWindow(rep, "bad")
	require.Positive(t, requests, "the canary took traffic")
	// One in five of the canary's 20%: 4% of the requests sent while it
	// took traffic; the margin (x1.5, +5) covers the requests in flight
	// while the weights changed and the round robin's phase.
	bound := int(float64(requests)*0.2*0.2*1.5) + 5
	t.Logf("bad release: canary window %s, %d requests, %d failed (bound %d); %d answered by the bad release", window.Round(time.Millisecond), requests, failed, bound, rep.ByVersion["bad"])
	assert.Equal(t, failed, rep.Failed, "every failure falls in the canary window")
	assert.LessOrEqual(t, failed, bound)
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	h := runDswap(t, bin, s, "history", app.name)
	require.Zero(t, h.code, h.stderr)
	assert.Contains(t, h.stdout, "rolled-back")

	// A paused canary, aborted: the split stays after dswap exits, then
	// all the traffic goes back to the service's tasks.
	run, rep, states = canaryUnderLoad("up", v2, "--service", app.name, "--canary", "20%", "--step", "5s", "--pause")
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stdout, "canary paused")
	assert.Equal(t, "weighted 80/20 canary=1 stable=3", states[len(states)-1], "the split stays after dswap exits")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	status := runDswap(t, bin, s, "status", app.name)
	require.Zero(t, status.code, status.stderr)
	assert.Contains(t, status.stdout, "paused canary: 20%")
	refused := runDswap(t, bin, s, "up", v2, "--service", app.name)
	assert.Equal(t, 2, refused.code, "up refuses a paused service")
	run, rep, states = canaryUnderLoad("abort", app.name)
	require.Zero(t, run.code, run.stderr)
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Equal(t, "plain 3", states[len(states)-1])
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")

	// A dswap killed during a step leaves the split route and the bridge:
	// the next dswap sync puts all the traffic back on the service's
	// tasks, confirmed, then removes the bridge.
	sampler := sampleWeights(t, s, app.name)
	stop := load(t, s, app, 3*time.Minute)
	require.True(t, killDswapAt(t, bin, s, "weights applied", "up", v2, "--service", app.name, "--canary", "20%", "--step", "60s"), "dswap never reached its canary step")
	assert.True(t, serviceExists(t, s, app.name+"-dswap"), "the killed dswap left its bridge")
	run = runDswap(t, bin, s, "sync", app.name)
	time.Sleep(time.Second)
	rep = stop()
	states = sampler.finish()
	t.Logf("dswap killed during its 20%% step, then dswap sync, under load: %s; route states %q", rep.Summary(), states)
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stderr, "interrupted canary undone")
	assert.Contains(t, states, "weighted 80/20 canary=1 stable=3")
	assert.Equal(t, "plain 3", states[len(states)-1])
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Equal(t, v1, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")

	// A good v2: both steps pass, the bridge is scaled to 3, and the swap
	// goes on as without a canary.
	goodCanary(t, bin, s, app, v2)
}

// gate is the canary of the canary tests: two steps, judged on Traefik's
// metrics.
var gate = []string{"--canary", "20%,50%", "--step", "5s", "--max-error-rate", "1%", "--min-requests", "20"}

// canaryRun runs dswap with args while closed-loop clients load app (from
// a second before to a second after) and Traefik's API is read for the
// route's states; it returns the run, the load's report and the states.
func canaryRun(t *testing.T, bin string, s *lab.Swarm, app swarmApp, args ...string) (dswapRun, *loadgen.Report, []string) {
	t.Helper()
	sampler := sampleWeights(t, s, app.name)
	stop := load(t, s, app, 3*time.Minute)
	time.Sleep(time.Second) // load before the swap starts
	run := runDswap(t, bin, s, args...)
	time.Sleep(time.Second) // and after it ended
	rep := stop()
	states := sampler.finish()
	t.Logf("dswap %s: %s; route states Traefik's API showed, in order: %q", strings.Join(args, " "), rep.Summary(), states)
	return run, rep, states
}

// goodCanary swaps app's 3 tasks to a good release through the gate under
// load: both steps pass, nothing fails, Traefik showed both weights and
// never a plain route of fewer than 3 tasks, and the bridge is gone.
func goodCanary(t *testing.T, bin string, s *lab.Swarm, app swarmApp, image string) {
	t.Helper()
	run, rep, states := canaryRun(t, bin, s, app, append([]string{"up", image, "--service", app.name}, gate...)...)
	require.Zero(t, run.code, run.stderr)
	assert.Contains(t, run.stdout, "now runs "+image)
	assert.Equal(t, 2, strings.Count(run.stderr, "canary step passed weight="), "both steps judged and passed")
	assert.Zero(t, rep.Failed, "failed: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung: %s", describe(rep.HungResults()))
	assert.Positive(t, rep.ByVersion["v1"])
	assert.Positive(t, rep.ByVersion["v2"])
	assert.Contains(t, states, "weighted 80/20 canary=1 stable=3", "Traefik showed the 20% step")
	assert.Contains(t, states, "weighted 50/50 canary=1 stable=3", "Traefik showed the 50% step")
	for _, st := range states {
		if n, ok := strings.CutPrefix(st, "plain "); ok {
			servers, err := strconv.Atoi(n)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, servers, 3, "a plain route named fewer than 3 tasks: %q", states)
		}
	}
	assert.Equal(t, image, serviceImage(t, s, app.name))
	assert.False(t, serviceExists(t, s, app.name+"-dswap"), "bridge removed")
}

// TestSwarmCanaryOnThreeNodes runs the good release's canary of
// TestSwarmCanaryTakesOutABadReleaseThenPromotesAGoodOne on a Swarm of
// three Engines, the service's tasks spread over them by Swarm: the steps'
// metrics come from Traefik on the manager whatever node the canary task
// runs on.
func TestSwarmCanaryOnThreeNodes(t *testing.T) {
	s, bin, _, v2, app := routedSwarm(t, 3, 3)
	old := awaitTasks(t, s, app.name, 3, time.Minute)
	awaitRouted(t, s, app.name, urlsOf(old), 30*time.Second)
	goodCanary(t, bin, s, app, v2)
	news := awaitTasks(t, s, app.name, 3, time.Minute)
	t.Logf("old tasks on %d node(s), new on %d", nodesOf(old), nodesOf(news))
	assert.GreaterOrEqual(t, nodesOf(old), 2, "the old tasks spread over the nodes")
	assert.GreaterOrEqual(t, nodesOf(news), 2, "the new tasks spread over the nodes")
}

// canaryWindow is the part of a load run during which the canary could
// answer: from the first request answered by version or failed to the
// last one. It returns the requests started in it, the failed ones, and
// its length.
func canaryWindow(rep *loadgen.Report, version string) (requests, failed int, length time.Duration) {
	var from, to time.Time
	for _, r := range rep.Results {
		if r.Failed() || r.Version == version {
			if from.IsZero() || r.Start.Before(from) {
				from = r.Start
			}
			if r.End.After(to) {
				to = r.End
			}
		}
	}
	for _, r := range rep.Results {
		if !from.IsZero() && !r.Start.Before(from) && !r.Start.After(to) {
			requests++
			if r.Failed() {
				failed++
			}
		}
	}
	return requests, failed, to.Sub(from)
}

// weightSampler reads Traefik's raw configuration every 20 ms and keeps
// every distinct state of a service's route, in order: "plain N" (a load
// balancer of N servers) or "weighted S/C stable=N canary=M".
type weightSampler struct {
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	states []string
}

func sampleWeights(t *testing.T, s *lab.Swarm, service string) *weightSampler {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &weightSampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if st, err := routeState(ctx, s.TraefikAPI, service); err == nil {
				w.mu.Lock()
				if len(w.states) == 0 || w.states[len(w.states)-1] != st {
					w.states = append(w.states, st)
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *weightSampler) finish() []string {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.states...)
}

// rawService is a service in Traefik's /api/rawdata.
type rawService struct {
	LoadBalancer *struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	} `json:"loadBalancer"`
	Weighted *struct {
		Services []struct {
			Name   string `json:"name"`
			Weight int    `json:"weight"`
		} `json:"services"`
	} `json:"weighted"`
}

// routeState is the state of service@file's route as Traefik runs it.
func routeState(ctx context.Context, api, service string) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, api+"/api/rawdata", nil)
	if err != nil {
		return "", err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var raw struct {
		Services map[string]rawService `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return "", err
	}
	svc, ok := raw.Services[service+"@file"]
	switch {
	case !ok:
		return "absent", nil
	case svc.Weighted != nil:
		var weights []string
		children := map[string]int{}
		for _, c := range svc.Weighted.Services {
			weights = append(weights, fmt.Sprint(c.Weight))
			if child, ok := raw.Services[c.Name+"@file"]; ok && child.LoadBalancer != nil {
				children[strings.TrimPrefix(c.Name, service+"-")] = len(child.LoadBalancer.Servers)
			}
		}
		names := make([]string, 0, len(children))
		for n := range children {
			names = append(names, n)
		}
		sort.Strings(names)
		out := "weighted " + strings.Join(weights, "/")
		for _, n := range names {
			out += fmt.Sprintf(" %s=%d", n, children[n])
		}
		return out, nil
	case svc.LoadBalancer != nil:
		return fmt.Sprintf("plain %d", len(svc.LoadBalancer.Servers)), nil
	}
	return "other", nil
}
