package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// jobOutcome is how a fake task service's task ends.
type jobOutcome struct {
	exit   int
	output string
	// hang keeps the task running (a task past its timeout).
	hang bool
	// unfollowed is how many of the output's last lines do not come
	// through the followed log stream (they come only in the tail read
	// once the task ended).
	unfollowed int
	// seen is called (the cluster locked) when the job's task starts.
	seen func(f *fakeCluster)
}

// isTask says whether s is a release task's one-off service.
func isTask(s *engine.SwarmService) bool { return s.Labels[swap.TaskLabel] != "" }

// script is a task service's script: its last argument.
func script(s *engine.SwarmService) string {
	args := s.TaskArgs()
	if len(args) == 0 {
		return ""
	}
	return args[len(args)-1]
}

// convergeTask gives a task service its one task, ended as f.jobs says.
func (f *fakeCluster) convergeTask(s *engine.SwarmService) {
	if len(f.tasks[s.ID]) > 0 {
		return
	}
	o := f.jobs[script(s)]
	if o.seen != nil {
		o.seen(f)
	}
	f.nextIP++
	t := engine.SwarmTask{ID: fmt.Sprintf("task-%d", f.nextIP), ServiceID: s.ID, NodeID: "node-1", Slot: 1, Image: s.Image,
		State: "complete", DesiredState: "complete", Updated: time.Now()}
	switch {
	case o.hang:
		t.State, t.DesiredState = "running", "running"
	case o.exit != 0:
		t.State, t.ExitCode, t.Err = "failed", o.exit, fmt.Sprintf("task: non-zero exit (%d)", o.exit)
	}
	f.tasks[s.ID] = []engine.SwarmTask{t}
}

func strsP(s ...string) *[]string { return &s }
func strP(s string) *string       { return &s }

// routedWorld is a world whose service is routed on its v1 tasks.
func routedWorld(t *testing.T) (*world, []string) {
	t.Helper()
	w := newWorld(t)
	w.cluster.jobs = map[string]jobOutcome{}
	_, err := w.swapper().Sync(context.Background(), "web", swap.Overrides{})
	require.NoError(t, err)
	old := w.routedHosts(t)
	require.Len(t, old, 3)
	return w, old
}

func (w *world) serviceNames(t *testing.T) []string {
	t.Helper()
	names, err := w.cluster.SwarmServiceNames(context.Background())
	require.NoError(t, err)
	slices.Sort(names)
	return names
}

func TestPreAndPostTasksRunAroundTheBridgeAndAreInTheResult(t *testing.T) {
	w, old := routedWorld(t)
	var atPre, atPost []string
	w.cluster.jobs["migrate"] = jobOutcome{output: "migrated 3 tables\ndone", seen: func(f *fakeCluster) {
		for _, s := range f.services {
			atPre = append(atPre, s.Name+"="+s.Image)
		}
	}}
	w.cluster.jobs["warm"] = jobOutcome{output: "warmed", seen: func(f *fakeCluster) {
		for _, s := range f.services {
			atPost = append(atPost, s.Name+"="+s.Image)
		}
	}}
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Pre: strsP("migrate"), Post: strsP("warm")}})
	require.NoError(t, err)

	assert.ElementsMatch(t, []string{"web=myapp:v1", "web-dswap-pre-1=myapp:v2"}, atPre, "the pre task runs the new image before the bridge exists")
	assert.ElementsMatch(t, []string{"web=myapp:v1", "web-dswap=myapp:v2", "web-dswap-post-1=myapp:v2"}, atPost, "the post task runs beside the bridge, the service not yet updated")
	require.Len(t, res.Tasks, 2)
	assert.Equal(t, swap.TaskResult{Stage: "pre", Command: "migrate", ExitCode: 0, Took: res.Tasks[0].Took, Output: []string{"migrated 3 tables", "done"}}, res.Tasks[0])
	assert.Equal(t, swap.TaskResult{Stage: "post", Command: "warm", ExitCode: 0, Took: res.Tasks[1].Took, Output: []string{"warmed"}}, res.Tasks[1])
	assert.Equal(t, []string{"web"}, w.serviceNames(t), "the bridge and both task services are removed")
	assert.Contains(t, w.cluster.removed, "web-dswap-pre-1")
	assert.Contains(t, w.cluster.removed, "web-dswap-post-1")
	assert.Empty(t, intersect(old, w.routedHosts(t)), "routed on the new tasks")

	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	last := entries[len(entries)-1]
	assert.Equal(t, "swapped", last.Result)
	require.Len(t, last.Tasks, 2)
	assert.Equal(t, []string{"warmed"}, last.Tasks[1].Output)
}

func TestTaskServicesRunTheNewImageOneAfterTheOther(t *testing.T) {
	w, _ := routedWorld(t)
	var seed, migrate *engine.SwarmService
	w.cluster.jobs["seed"] = jobOutcome{seen: func(f *fakeCluster) { seed = f.byName("web-dswap-pre-1") }}
	w.cluster.jobs["migrate"] = jobOutcome{seen: func(f *fakeCluster) { migrate = f.byName("web-dswap-pre-2") }}
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Pre: strsP(`["/app","seed"]`, "migrate")}})
	require.NoError(t, err)
	require.NotNil(t, seed)
	require.NotNil(t, migrate)
	assert.Equal(t, uint64(1), seed.Replicas)
	assert.Equal(t, "myapp:v2", seed.Image)
	assert.Equal(t, []string{"/app", "seed"}, seed.TaskArgs(), "a JSON array is the exec form")
	assert.Equal(t, []string{"/bin/sh", "-c", "migrate"}, migrate.TaskArgs(), "anything else runs in /bin/sh -c")
	assert.Equal(t, map[string]string{swap.TaskLabel: "pre", swap.TaskServiceLabel: "web"}, migrate.Labels)
	assert.Equal(t, []string{"web-dswap-pre-1", "web-dswap-pre-2"}, w.cluster.removed[:2], "one after the other, each removed")
	assert.Len(t, res.Tasks, 2)
}

func TestFailedPreTaskChangesNothing(t *testing.T) {
	w, old := routedWorld(t)
	w.cluster.jobs["migrate"] = jobOutcome{exit: 3, output: "migration failed: table exists"}
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Pre: strsP("migrate"), Post: strsP("warm")}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhasePre, fe.Phase)
	assert.Contains(t, err.Error(), "exited with code 3")
	assert.Contains(t, err.Error(), "migration failed: table exists", "the task's output is in the error")
	assert.Contains(t, fe.Kept, "no bridge service was created")
	var te *swap.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 3, te.Result.ExitCode)

	assert.Equal(t, []string{"web-dswap-pre-1"}, w.cluster.removed, "no bridge was ever created (it would be removed too)")
	assert.Equal(t, []string{"web"}, w.serviceNames(t))
	assert.Equal(t, old, w.routedHosts(t), "the route is untouched")
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel)
	require.Len(t, res.Tasks, 1, "the post task never ran")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	assert.Equal(t, "failed", entries[len(entries)-1].Result)
	assert.Len(t, entries[len(entries)-1].Tasks, 1)
}

func TestFailedPostTaskWithRollbackRoutesBackToTheOldTasks(t *testing.T) {
	w, old := routedWorld(t)
	w.cluster.jobs["warm"] = jobOutcome{exit: 1, output: "cache unreachable"}
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Post: strsP("warm"), PostFailure: strP("rollback")}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhasePost, fe.Phase)
	assert.Contains(t, err.Error(), "exited with code 1")
	assert.Contains(t, err.Error(), "cache unreachable")
	assert.Contains(t, fe.Kept, "serves again on all its 3 tasks")
	assert.NoError(t, fe.RollbackErr)

	assert.Equal(t, old, w.routedHosts(t), "the route is back on the old tasks, which stood by")
	assert.Equal(t, []string{"web"}, w.serviceNames(t), "the bridge is drained and removed")
	assert.Contains(t, w.cluster.removed, "web-dswap")
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image, "the service was never updated")
	assert.Empty(t, res.New)
	var servers [][]string
	w.traefik.mu.Lock()
	servers = append(servers, w.traefik.applied...)
	w.traefik.mu.Unlock()
	require.GreaterOrEqual(t, len(servers), 3)
	assert.Empty(t, intersect(old, servers[len(servers)-2]), "flip 1 routed the bridge before the task ran")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	assert.Equal(t, "rolled-back", entries[len(entries)-1].Result)
}

func TestFailedPostTaskWithReportKeepsTheNewVersion(t *testing.T) {
	w, old := routedWorld(t)
	w.cluster.jobs["warm"] = jobOutcome{exit: 1, output: "cache unreachable"}
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Post: strsP("warm")}})
	var fe *swap.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, swap.PhasePost, fe.Phase)
	assert.Contains(t, err.Error(), "cache unreachable")
	assert.Contains(t, fe.Kept, "the new version stays")

	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
	assert.Len(t, res.New, 3)
	assert.Empty(t, intersect(old, w.routedHosts(t)), "routed on the new tasks")
	assert.Equal(t, []string{"web"}, w.serviceNames(t))
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	last := entries[len(entries)-1]
	assert.Equal(t, "swapped", last.Result, "the new version serves: a later rollback goes back from it")
	assert.Contains(t, last.Reason, "post task failed")
}

func TestTaskPastItsTimeoutIsRemovedAndFailsTheSwap(t *testing.T) {
	w, old := routedWorld(t)
	w.cluster.jobs["migrate"] = jobOutcome{hang: true, output: "sleeping"}
	started := time.Now()
	res, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Pre: strsP("migrate"), TaskTimeout: durationP("100ms")}})
	require.Error(t, err)
	assert.Less(t, time.Since(started), 5*time.Second)
	assert.Contains(t, err.Error(), "ran past its timeout of 100ms (--task-timeout) and was stopped")
	assert.Contains(t, err.Error(), "sleeping")
	assert.Equal(t, []string{"web-dswap-pre-1"}, w.cluster.removed, "the task's service is removed, which stops its task")
	assert.Equal(t, old, w.routedHosts(t))
	require.Len(t, res.Tasks, 1)
	assert.Equal(t, -1, res.Tasks[0].ExitCode)
}

func TestInterruptedTaskIsRemoved(t *testing.T) {
	w, old := routedWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	w.cluster.jobs["migrate"] = jobOutcome{hang: true, seen: func(*fakeCluster) { cancel() }}
	_, err := w.swapper().Up(ctx, swap.Request{Image: "myapp:v2", Service: "web", Overrides: swap.Overrides{Pre: strsP("migrate")}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "Ctrl-C is told from a task's failure: %v", err)
	assert.Contains(t, err.Error(), "was interrupted and stopped")
	assert.Equal(t, []string{"web"}, w.serviceNames(t))
	assert.Equal(t, old, w.routedHosts(t))
}

func TestMalformedTaskIsRefusedBeforeAnythingRuns(t *testing.T) {
	w, _ := routedWorld(t)
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
		Overrides: swap.Overrides{Pre: strsP("migrate"), Post: strsP(`["/app", 3]`)}})
	require.ErrorIs(t, err, swap.ErrBadInput)
	assert.Empty(t, w.cluster.removed, "not even the pre task ran")
	entries, err := w.history.Read(swap.KeyOf("web"))
	require.NoError(t, err)
	assert.Empty(t, entries, "a refusal is not a swap")
}

func TestRollbackRunsNoTask(t *testing.T) {
	w, _ := routedWorld(t)
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	w.cluster.jobs["migrate"] = jobOutcome{exit: 1}
	res, err := w.swapper().Rollback(context.Background(), "web", swap.Overrides{Pre: strsP("migrate")})
	require.NoError(t, err)
	assert.Empty(t, res.Tasks)
	assert.NotContains(t, w.cluster.removed, "web-dswap-pre-1")
}

func TestTaskServiceLeftByAKilledDswapIsRemovedByTheNext(t *testing.T) {
	w, old := routedWorld(t)
	one := uint64(1)
	left := w.cluster.addService(dswarm.ServiceSpec{
		Annotations:  dswarm.Annotations{Name: "web-dswap-post-1", Labels: map[string]string{swap.TaskLabel: "post", swap.TaskServiceLabel: "web"}},
		TaskTemplate: dswarm.TaskSpec{ContainerSpec: &dswarm.ContainerSpec{Image: "myapp:v2", Args: []string{"/bin/sh", "-c", "warm"}}},
		Mode:         dswarm.ServiceMode{Replicated: &dswarm.ReplicatedService{Replicas: &one}},
	})
	w.cluster.jobs["warm"] = jobOutcome{hang: true}
	// Not dswap's: a name alike without the labels stays.
	w.cluster.addService(dswarm.ServiceSpec{Annotations: dswarm.Annotations{Name: "web-dswap-pre-cache"},
		TaskTemplate: dswarm.TaskSpec{ContainerSpec: &dswarm.ContainerSpec{Image: "cache:1"}}})

	ok, err := IsService(context.Background(), w.cluster, left.Name)
	require.NoError(t, err)
	assert.False(t, ok, "a task service is not one to swap")

	_, err = w.swapper().Sync(context.Background(), "web", swap.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []string{"web-dswap-post-1"}, w.cluster.removed)
	assert.Equal(t, []string{"web", "web-dswap-pre-cache"}, w.serviceNames(t))
	assert.Equal(t, old, w.routedHosts(t))
}

// A task's output is logged as it comes through Swarm's log stream; the
// lines the stream had not brought when the task ended are logged from
// the tail read then: each line once, in order, and the result keeps the
// tail.
func TestTaskOutputIsLoggedLiveAndOnce(t *testing.T) {
	for _, unfollowed := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d lines not followed", unfollowed), func(t *testing.T) {
			w, _ := routedWorld(t)
			w.cluster.jobs["migrate"] = jobOutcome{output: "step 1\nstep 2\nstep 3\ndone", unfollowed: unfollowed}
			var buf bytes.Buffer
			sw := w.swapper()
			sw.log = slog.New(slog.NewJSONHandler(&buf, nil))
			res, err := sw.Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web",
				Overrides: swap.Overrides{Pre: strsP("migrate")}})
			require.NoError(t, err)
			require.Len(t, res.Tasks, 1)
			assert.Equal(t, []string{"step 1", "step 2", "step 3", "done"}, res.Tasks[0].Output)
			var logged []string
			dec := json.NewDecoder(&buf)
			for {
				var rec struct{ Msg, Stream string }
				if err := dec.Decode(&rec); err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
				if rec.Stream == "output" {
					logged = append(logged, rec.Msg)
				}
			}
			assert.Equal(t, []string{"step 1", "step 2", "step 3", "done"}, logged, "each line once, in order")
		})
	}
}

func TestOverlapFindsWhereTheTailGoesOnFromTheLinesSeen(t *testing.T) {
	for _, c := range []struct {
		seen, tail []string
		want       int
	}{
		{nil, []string{"a"}, 0},
		{[]string{"a", "b"}, []string{"a", "b"}, 2},
		{[]string{"a", "b", "c"}, []string{"b", "c"}, 2},
		{[]string{"a", "b"}, []string{"b", "c", "d"}, 1},
		{[]string{"x"}, []string{"b", "c"}, 0},
		{[]string{"a", "b"}, nil, 0},
	} {
		assert.Equal(t, c.want, overlap(c.seen, c.tail), "seen %q, tail %q", c.seen, c.tail)
	}
}
