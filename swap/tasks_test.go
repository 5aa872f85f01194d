package swap

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

// fakeTasks runs release tasks as the Engine would: the container's
// command decides what it prints and how it exits, and a task that blocks
// runs until it is stopped. Each task's end goes into the world's log as
// "task COMMAND exit CODE", between its container's start and removal.
type fakeTasks struct {
	w   *world
	run func(cmd []string) (out []string, exit int, block bool)
}

func (f fakeTasks) Wait(_ context.Context, id string) <-chan engine.WaitResult {
	ch := make(chan engine.WaitResult, 1)
	f.w.mu.Lock()
	if f.w.taskExits == nil {
		f.w.taskExits = map[string]chan engine.WaitResult{}
	}
	f.w.taskExits[id] = ch
	f.w.mu.Unlock()
	return ch
}

func (f fakeTasks) FollowLogs(ctx context.Context, id string, line func(string)) error {
	f.w.mu.Lock()
	cmd, exited := f.w.commands[id], f.w.taskExits[id]
	f.w.mu.Unlock()
	out, code, block := f.run(cmd)
	for _, l := range out {
		line(l)
	}
	if block {
		// Until dswap stops the container (its state turns exited).
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for f.w.isRunning(id) {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		code = 137
	}
	f.w.record("task %s exit %d", strings.Join(cmd, " "), code)
	exited <- engine.WaitResult{ExitCode: code}
	return nil
}

func (w *world) isRunning(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.containers[id]
	return ok && c.State.Status != "exited"
}

// taskSwapper is the world's Swapper with the fake task runner.
func (w *world) taskSwapper(run func(cmd []string) ([]string, int, bool)) *Swapper {
	s := w.swapper()
	s.Tasks = fakeTasks{w: w, run: run}
	return s
}

// succeed runs every task to exit 0, printing its command.
func succeed(cmd []string) ([]string, int, bool) {
	return []string{"ran " + strings.Join(cmd, " ")}, 0, false
}

// taskName hides the swap's random suffix of a one-off container's name.
var taskName = regexp.MustCompile(`-(pre|post)-(\d+)-[0-9a-f]{6}\b`)

func (w *world) steadyLog() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, len(w.log))
	for i, l := range w.log {
		out[i] = taskName.ReplaceAllString(l, "-$1-$2")
	}
	return out
}

func tasks(cmds ...string) *[]string { return &cmds }

func TestTasksRunBeforeAnyNewContainerAndAfterTheFlip(t *testing.T) {
	w := newWorld()
	res, err := w.taskSwapper(succeed).Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{
		Pre: tasks(`["/app","migrate"]`), Post: tasks("warm --all"),
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create web-pre-1 myapp:v2",
		"start id-web-pre-1",
		"task /app migrate exit 0",
		"remove id-web-pre-1",
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] err=<nil>",
		"create web-post-1 myapp:v2",
		"start id-web-post-1",
		"task /bin/sh -c warm --all exit 0",
		"remove id-web-post-1",
		"stop id-web 5s",
		"remove id-web",
	}, w.steadyLog(), "pre before anything serves, post after the confirmed flip and before the drain; each one-off removed")
	require.Len(t, res.Tasks, 2)
	assert.Equal(t, TaskResult{Stage: "pre", Command: `["/app","migrate"]`, ExitCode: 0, Took: res.Tasks[0].Took, Output: []string{"ran /app migrate"}}, res.Tasks[0])
	assert.Equal(t, "post", res.Tasks[1].Stage)
	assert.Equal(t, []string{"ran /bin/sh -c warm --all"}, res.Tasks[1].Output)
	var phases []string
	for _, s := range res.Steps {
		phases = append(phases, s.Phase.String())
	}
	assert.Equal(t, []string{"plan", "pre", "create", "health", "flip", "post", "drain", "remove", "done"}, phases)
}

func TestTasksOneOffIsMarkedAndNotAMemberOfTheService(t *testing.T) {
	w := newWorld()
	var labels map[string]string
	_, err := w.taskSwapper(func(cmd []string) ([]string, int, bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for id, c := range w.containers {
			if strings.Contains(id, "-pre-") {
				labels = c.Labels
			}
		}
		return nil, 0, false
	}).Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Pre: tasks("migrate")}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{TaskLabel: "pre", TaskServiceLabel: "web"}, labels,
		"no dswap.service, compose or traefik label: nothing routes, counts or copies it")
}

func TestTasksPostRunsExactlyOnceWithReplicas(t *testing.T) {
	w := replicaWorld(t, 3)
	res, err := w.taskSwapper(succeed).Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{
		Pre: tasks("migrate"), Post: tasks("warm"),
	}})
	require.NoError(t, err)
	log := w.steadyLog()
	count := func(prefix string) int {
		n := 0
		for _, l := range log {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 1, count("task /bin/sh -c migrate"), "pre runs once per swap, not per replica")
	assert.Equal(t, 1, count("task /bin/sh -c warm"), "post runs once per swap, not per replica")
	assert.Equal(t, 5, count("create shop-web-"), "three new replicas beside the two one-offs")

	post := slices.Index(log, "task /bin/sh -c warm exit 0")
	lastFlip := slices.IndexFunc(log, func(l string) bool { return strings.HasPrefix(l, "confirm [") && !strings.Contains(l, "shop-web-3:") })
	lastDrain := slices.Index(log, "stop id-shop-web-3 5s")
	require.Positive(t, post)
	assert.Greater(t, post, lastFlip, "post runs after the batch that completes the update is routed")
	assert.Less(t, post, lastDrain, "and before that batch's old container drains")
	assert.Equal(t, []string{"shop-web-4", "shop-web-5", "shop-web-6"}, res.New)
	assert.Len(t, res.Tasks, 2)
	for _, c := range w.containers {
		if c.Labels[TaskLabel] != "" {
			t.Errorf("one-off %s left", c.Name)
		}
	}
}

func TestTasksPreFailureCreatesNothing(t *testing.T) {
	w := newWorld()
	before := w.routes["web"]
	res, err := w.taskSwapper(func([]string) ([]string, int, bool) {
		return []string{"migrating", "migration failed: table already exists"}, 3, false
	}).Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Pre: tasks("migrate", "never runs"), Post: tasks("warm")}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhasePre, failed.Phase)
	assert.Contains(t, failed.Kept, "no new container was created")
	var taskErr *TaskError
	require.ErrorAs(t, err, &taskErr)
	assert.Equal(t, 3, taskErr.Result.ExitCode)
	assert.Contains(t, err.Error(), `pre task "migrate" exited with code 3; its last output:`)
	assert.Contains(t, err.Error(), "migration failed: table already exists")
	assert.NotErrorIs(t, err, context.Canceled)
	assert.Equal(t, []string{
		"create web-pre-1 myapp:v2",
		"start id-web-pre-1",
		"task /bin/sh -c migrate exit 3",
		"remove id-web-pre-1",
	}, w.steadyLog(), "the first failure stops the tasks and the swap; no container of v2, no route change")
	assert.Equal(t, before, w.routes["web"])
	assert.Equal(t, []string{"web"}, names(mapValues(w.containers)))
	require.NotNil(t, res)
	assert.Len(t, res.Tasks, 1)
}

func TestTasksPreTimeoutStopsAndRemovesTheTask(t *testing.T) {
	w := newWorld()
	timeout := 50 * time.Millisecond
	_, err := w.taskSwapper(func([]string) ([]string, int, bool) {
		return []string{"sleeping"}, 0, true
	}).Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Pre: tasks("sleep 1h"), TaskTimeout: &timeout}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Contains(t, err.Error(), "ran past its timeout of 50ms (--task-timeout) and was stopped")
	assert.Contains(t, err.Error(), "sleeping")
	assert.Equal(t, []string{
		"create web-pre-1 myapp:v2",
		"start id-web-pre-1",
		"stop id-web-pre-1 0s",
		"task /bin/sh -c sleep 1h exit 137",
		"remove id-web-pre-1",
	}, w.steadyLog(), "killed at once, then removed")
}

func TestTasksInterruptedStopsTheTaskAndChangesNothing(t *testing.T) {
	w := newWorld()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := w.taskSwapper(func([]string) ([]string, int, bool) {
		cancel() // Ctrl-C while the migration runs
		return []string{"migrating"}, 0, true
	}).Up(ctx, Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Pre: tasks("migrate")}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.ErrorIs(t, err, context.Canceled, "an interruption, told apart from the task's own failure")
	assert.Contains(t, err.Error(), "was interrupted and stopped")
	assert.Equal(t, []string{
		"create web-pre-1 myapp:v2",
		"start id-web-pre-1",
		"stop id-web-pre-1 0s",
		"task /bin/sh -c migrate exit 137",
		"remove id-web-pre-1",
	}, w.steadyLog())
}

func TestTasksPostFailure(t *testing.T) {
	failPost := func(cmd []string) ([]string, int, bool) {
		if slices.Contains(cmd, "warm") {
			return []string{"cache backend down"}, 4, false
		}
		return nil, 0, false
	}
	t.Run("rollback moves traffic back and keeps the old container", func(t *testing.T) {
		w := newWorld()
		rollback := "rollback"
		_, err := w.taskSwapper(failPost).Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Post: tasks("warm"), PostFailure: &rollback}})
		var failed *FailedError
		require.ErrorAs(t, err, &failed)
		assert.Equal(t, PhasePost, failed.Phase)
		assert.Contains(t, err.Error(), "exited with code 4")
		assert.Contains(t, err.Error(), "cache backend down")
		assert.Equal(t, []string{
			"create web-2 myapp:v2",
			"start id-web-2",
			"route web http://web-2:8080",
			"confirm [http://web-2:8080] err=<nil>",
			"create web-post-1 myapp:v2",
			"start id-web-post-1",
			"task /bin/sh -c warm exit 4",
			"remove id-web-post-1",
			"route web http://web:8080",
			"confirm [http://web:8080] err=<nil>",
			"stop id-web-2 5s",
			"remove id-web-2",
		}, w.steadyLog(), "the old container was never stopped; traffic went back to it")
	})
	t.Run("report keeps the new version and fails", func(t *testing.T) {
		w := newWorld()
		res, err := w.taskSwapper(failPost).Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Post: tasks("warm")}})
		var failed *FailedError
		require.ErrorAs(t, err, &failed)
		assert.Equal(t, PhasePost, failed.Phase)
		assert.Contains(t, failed.Kept, "the new version stays")
		assert.Equal(t, []string{"web-2"}, res.New)
		log := w.steadyLog()
		assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, log[len(log)-2:], "the old container drains as in a good swap")
		assert.Contains(t, w.routes["web"], "web-2:8080")
	})
}

func TestRollbackRunsNoTasks(t *testing.T) {
	w := newWorld()
	hist := memHistory{}
	s := w.taskSwapper(succeed)
	s.History = hist
	over := Overrides{Pre: tasks("migrate"), Post: tasks("warm")}
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: over})
	require.NoError(t, err)
	w.log = nil
	s = w.taskSwapper(succeed)
	s.History = hist
	res, err := s.Rollback(context.Background(), "web", over)
	require.NoError(t, err)
	assert.Empty(t, res.Tasks)
	for _, l := range w.log {
		assert.NotContains(t, l, "task ", "a rollback runs no release task: they belong to the version left")
	}
}

func TestTasksNeedATaskEngine(t *testing.T) {
	w := newWorld()
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Pre: tasks("migrate")}})
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Empty(t, w.log)
}

// leftTask is the one-off container of a release task whose dswap was
// killed: still running, or exited.
func leftTask(w *world, name, service string, running bool) *engine.Container {
	c := inspected(name, "myapp:v2", func(r *container.InspectResponse) {
		r.Config.Labels = map[string]string{TaskLabel: "pre", TaskServiceLabel: service}
		if !running {
			r.State = &container.State{Status: "exited", ExitCode: 137}
		}
	})
	w.containers[c.ID] = c
	return c
}

func TestATaskContainerAKilledDswapLeftIsRemoved(t *testing.T) {
	t.Run("by the next up, which finds the service by image", func(t *testing.T) {
		w := newWorld()
		leftTask(w, "web-pre-1-a1b2c3", "web", true)
		leftTask(w, "other-pre-1-a1b2c3", "other", false)
		// No --service: the task's container runs the image's repository
		// but is no member of any service.
		_, err := w.taskSwapper(succeed).Up(context.Background(), Request{Image: "myapp:v2"})
		require.NoError(t, err)
		log := w.steadyLog()
		require.NotEmpty(t, log)
		assert.Equal(t, "remove id-web-pre-1-a1b2c3", w.log[0], "removed (killed if running) before the swap")
		assert.Contains(t, log, "create web-2 myapp:v2", "then the swap runs")
		assert.Contains(t, w.containers, "id-other-pre-1-a1b2c3", "another service's one-off is not this service's to remove")
	})
	t.Run("shown by status as an interrupted swap", func(t *testing.T) {
		w := newWorld()
		leftTask(w, "web-pre-1-a1b2c3", "web", false)
		st, err := w.swapper().StatusOf(context.Background(), "web")
		require.NoError(t, err)
		require.Len(t, st, 1)
		assert.True(t, st[0].Damage.Interrupted())
		assert.Equal(t, "interrupted swap: release task container(s) left: web-pre-1-a1b2c3", st[0].Damage.String())
	})
	t.Run("by the keeper", func(t *testing.T) {
		w := newWorld()
		leftTask(w, "web-pre-1-a1b2c3", "web", true)
		got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
		require.NoError(t, err)
		assert.Equal(t, []string{"web-pre-1-a1b2c3"}, got.Repaired)
		assert.NotContains(t, w.containers, "id-web-pre-1-a1b2c3")
		assert.Contains(t, w.containers, "id-web", "the service itself is untouched")
	})
	t.Run("of a compose service by its project", func(t *testing.T) {
		w := replicaWorld(t, 1)
		w.containers["id-shop-web-1"].Labels["dswap.enable"] = "true"
		leftTask(w, "shop-web-pre-1-a1b2c3", "shop/web", false)
		leftTask(w, "blog-web-pre-1-a1b2c3", "blog/web", false)
		got, err := w.swapper().Reconcile(context.Background(), "shop/web", Overrides{})
		require.NoError(t, err)
		assert.Equal(t, []string{"shop-web-pre-1-a1b2c3"}, got.Repaired)
		assert.Contains(t, w.containers, "id-blog-web-pre-1-a1b2c3")
	})
}

func mapValues(m map[string]*engine.Container) []*engine.Container {
	var out []*engine.Container
	for _, c := range m {
		out = append(out, c)
	}
	return out
}
