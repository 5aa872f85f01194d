package swarm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// Release tasks (--pre, --post) run as they do on one host, once per swap
// and under the service's lock, each in a one-off of the new image with
// the service's settings: on Swarm a one-off *service*, NAME-dswap-pre-N or
// NAME-dswap-post-N, of one task that Swarm never restarts (restart
// condition none; not Swarm's job mode, whose tasks Engine 20.10 does not
// stop when the job is removed: see engine.SwarmService.OneOffTask),
// labelled dswap.task=STAGE and dswap.task.service=NAME as the container
// path labels its one-off containers. dswap follows the service's logs,
// logging each line as it comes, waits for its task to end within
// --task-timeout, takes the exit code from the task's container status and
// the last output lines from the service's logs, and removes the service
// whatever happened.
//
// Pre tasks run before the bridge is created: a failure changes nothing.
// Post tasks run right after flip 1: the bridge serves all the traffic and
// the service's old tasks still run, unrouted, as the old containers do
// after the flip on one host. With --post-failure rollback (or when
// interrupted), a failed post task moves the route back to the old tasks
// (confirmed) and drains and removes the bridge; with report the swap goes
// on and dswap exits 1 at the end, the new version serving.

// taskTail is how many of a task's last output lines are kept, as on one
// host.
const taskTail = 20

// taskServiceName is the one-off service of a swap's n-th task of stage.
func taskServiceName(service string, stage swap.Phase, n int) string {
	return fmt.Sprintf("%s-%s-%d", BridgeName(service), stage, n)
}

// maxServiceName is the longest name Swarm takes for a service (a DNS
// label).
const maxServiceName = 63

// checkTasks refuses, before anything changes, a task that could not run:
// a malformed exec form, or a name Swarm would refuse.
func (s *Swapper) checkTasks(p *plan) error {
	stages := []struct {
		stage swap.Phase
		cmds  []string
	}{{swap.PhasePre, s.cfg.Tasks.Pre}, {swap.PhasePost, s.cfg.Tasks.Post}}
	for _, st := range stages {
		for i, cmd := range st.cmds {
			if _, err := swap.TaskArgs(cmd); err != nil {
				return err
			}
			if n := taskServiceName(p.name, st.stage, i+1); len(n) > maxServiceName {
				return swap.BadInput("service %s's %s task would run as the Swarm service %s, longer than the %d characters Swarm allows; nothing was changed", p.name, st.stage, n, maxServiceName)
			}
		}
	}
	return nil
}

// preTasks runs the pre tasks, before the bridge exists. A failure is the
// swap's: nothing changed.
func (s *Swapper) preTasks(ctx context.Context, p *plan, res *swap.Result) error {
	if err := s.checkTasks(p); err != nil {
		return err
	}
	if err := s.runTasks(ctx, p, swap.PhasePre, s.cfg.Tasks.Pre, res); err != nil {
		s.enter(swap.PhaseFailed, "pre task failed; nothing was changed")
		return &swap.FailedError{Service: p.name, Phase: swap.PhasePre, Reason: err,
			Kept: fmt.Sprintf("%s (service %s) keeps serving, unchanged; no bridge service was created", p.fromImage, p.name)}
	}
	return nil
}

// postTasks runs the post tasks right after flip 1. It returns an error
// only when the swap stops there: the task failed with --post-failure
// rollback, or dswap was interrupted; the route is then back on the
// service's old tasks and the bridge removed (see undoPost). With report,
// the failure is in res.Tasks and postOutcome reports it at the end.
func (s *Swapper) postTasks(ctx context.Context, p *plan, bridge *engine.SwarmService, res *swap.Result) error {
	err := s.runTasks(ctx, p, swap.PhasePost, s.cfg.Tasks.Post, res)
	switch {
	case err == nil:
		return nil
	case s.cfg.Tasks.PostFailure == "rollback" || ctx.Err() != nil:
		return s.undoPost(ctx, p, bridge, err)
	}
	s.log.Warn("a post task failed; the new version stays (--post-failure report)", "phase", swap.PhasePost.String())
	return nil
}

// undoPost moves the route back to the service's old tasks, which never
// stopped, confirmed through Traefik, then drains and removes the bridge.
func (s *Swapper) undoPost(ctx context.Context, p *plan, bridge *engine.SwarmService, cause error) error {
	ctx = context.WithoutCancel(ctx)
	fe := &swap.FailedError{Service: p.name, Phase: swap.PhasePost, Reason: cause}
	s.enter(swap.PhaseRollback, "a post task failed: moving the route back to the service's old tasks", "post failure", s.cfg.Tasks.PostFailure)
	stuck := fmt.Sprintf("%s serves on the bridge service %s (routed); service %s's old tasks (%s) run unrouted. Run dswap sync %s to finish the swap to %s, or dswap up %s --service %s once Traefik answers", p.image, bridge.Name, p.name, p.fromImage, p.name, p.image, p.fromImage, p.name)
	if !s.backToService(ctx, p, bridge, fe, stuck) {
		s.enter(swap.PhaseFailed, "post task failed; the route could not be put back on the old tasks")
		return fe
	}
	s.enter(swap.PhaseFailed, "post task failed; rolled back")
	return fe
}

// finished ends a swap whose new version serves: done, or, when a post
// task failed under --post-failure report, exit 1 with the task's error
// while the new version stays.
func (s *Swapper) finished(p *plan, res *swap.Result) error {
	for _, t := range res.Tasks {
		if t.Stage == swap.PhasePost.String() && t.Failure != "" {
			s.enter(swap.PhaseFailed, "post task failed; the new version stays")
			return &swap.FailedError{Service: p.name, Phase: swap.PhasePost, Reason: &swap.TaskError{Result: t},
				Kept: fmt.Sprintf("%s serves on service %s (%s): the new version stays (--post-failure report; --post-failure rollback would move traffic back)", p.image, p.name, strings.Join(res.New, ", "))}
		}
	}
	s.enter(swap.PhaseDone, "done")
	return nil
}

// runTasks runs a stage's tasks in order; the first that fails stops it.
func (s *Swapper) runTasks(ctx context.Context, p *plan, stage swap.Phase, cmds []string, res *swap.Result) error {
	if len(cmds) == 0 {
		return nil
	}
	s.enter(stage, fmt.Sprintf("running %d %s task(s) in one-off Swarm services of %s", len(cmds), stage, p.image))
	for i, cmd := range cmds {
		r, err := s.runTask(ctx, p, stage, i+1, cmd)
		res.Tasks = append(res.Tasks, r)
		if err != nil {
			return err
		}
	}
	return nil
}

// taskError is a failed task; it unwraps to the context's error when dswap
// was interrupted, so that a caller tells Ctrl-C from a task's failure.
type taskError struct {
	*swap.TaskError
	cause error
}

func (e *taskError) Unwrap() []error { return []error{e.TaskError, e.cause} }

// runTask runs one task as a one-off service and removes the service,
// whatever happens (Ctrl-C included).
func (s *Swapper) runTask(ctx context.Context, p *plan, stage swap.Phase, n int, cmd string) (swap.TaskResult, error) {
	r := swap.TaskResult{Stage: stage.String(), Command: cmd, ExitCode: -1}
	started := s.Now()
	args, err := swap.TaskArgs(cmd)
	if err != nil {
		return r, err
	}
	spec := p.svc.OneOffTask(taskServiceName(p.name, stage, n), p.image, args, map[string]string{
		swap.TaskLabel: stage.String(), swap.TaskServiceLabel: p.name,
	})
	id, err := s.Cluster.CreateSwarmService(ctx, spec)
	if err != nil {
		return r, fmt.Errorf("creating the one-off service %s of %s task %q: %w", spec.Name, stage, cmd, err)
	}
	spec.ID = id
	defer s.removeTask(ctx, stage, spec)
	s.log.Info("task started", "phase", stage.String(), "task", cmd, "service", spec.Name)

	live := s.followTask(ctx, stage, cmd, id)
	ended, failure, interrupted := s.waitTask(ctx, id)
	r.Took = s.Now().Sub(started)
	r.Output = s.taskOutput(ctx, stage, cmd, id, live)
	switch {
	case failure != "":
		r.Failure = failure
	case ended.State == "complete":
		r.ExitCode = 0
		s.log.Info("task done", "phase", stage.String(), "task", cmd, "took", r.Took.Round(time.Millisecond))
		return r, nil
	case ended.State == "failed" && ended.ExitCode != 0:
		r.ExitCode = ended.ExitCode
		r.Failure = fmt.Sprintf("exited with code %d", ended.ExitCode)
	default:
		r.Failure = fmt.Sprintf("ended %s: %s", ended.State, taskWord(ended))
	}
	s.log.Warn("task failed", "phase", stage.String(), "task", cmd, "failure", r.Failure, "took", r.Took.Round(time.Millisecond))
	return r, &taskError{TaskError: &swap.TaskError{Result: r}, cause: interrupted}
}

// waitTask waits until the job's task ends, within --task-timeout. It
// returns the ended task, or why dswap stopped waiting (and ctx's error
// when interrupted).
func (s *Swapper) waitTask(ctx context.Context, id string) (engine.SwarmTask, string, error) {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.Tasks.Timeout)
	defer cancel()
	var last []engine.SwarmTask
	for {
		tasks, err := s.Cluster.SwarmTasks(wctx, id)
		if err != nil && wctx.Err() == nil {
			return engine.SwarmTask{}, "could not be followed: " + err.Error(), nil
		}
		if err == nil {
			last = tasks
			for _, t := range tasks {
				if t.Ended() {
					return t, "", nil
				}
			}
		}
		if err := sleep(wctx, s.Poll); err != nil {
			if ctx.Err() != nil {
				return engine.SwarmTask{}, "was interrupted and stopped", ctx.Err()
			}
			return engine.SwarmTask{}, fmt.Sprintf("ran past its timeout of %s (--task-timeout) and was stopped; %s", s.cfg.Tasks.Timeout, describeTasks(last)), nil
		}
	}
}

// taskWord is what Swarm said of an ended task.
func taskWord(t engine.SwarmTask) string {
	if t.Err != "" {
		return t.Err
	}
	return t.Message
}

// liveOutput is a task's output as it comes: each line is logged in the
// task's phase while the task runs, as the container path streams a
// one-off container's output.
type liveOutput struct {
	mu      sync.Mutex
	lines   []string      // the last taskTail lines that came
	changed chan struct{} // a line came
	cancel  context.CancelFunc
	done    chan struct{} // the following ended
}

// followTask follows the task service's logs until stop.
func (s *Swapper) followTask(ctx context.Context, stage swap.Phase, cmd, id string) *liveOutput {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	lo := &liveOutput{cancel: cancel, changed: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(lo.done)
		err := s.Cluster.FollowSwarmServiceLogs(fctx, id, func(l string) {
			if l == "" {
				return
			}
			s.log.Info(l, "phase", stage.String(), "task", cmd, "stream", "output")
			lo.mu.Lock()
			// Only the last lines matter: they are matched against
			// the task's tail once it ended.
			lo.lines = tailOf(append(lo.lines, l), taskTail)
			lo.mu.Unlock()
			select {
			case lo.changed <- struct{}{}:
			default:
			}
		})
		if err != nil && fctx.Err() == nil {
			s.log.Debug("could not follow the task's output; its last lines are read when it ends", "phase", stage.String(), "task", cmd, "error", err)
		}
	}()
	return lo
}

// liveGrace is how long the lines a task wrote just before it ended may
// take to come through Swarm's log stream once the task ended.
const liveGrace = 2 * time.Second

// seen returns the last lines that came so far.
func (lo *liveOutput) seen() []string {
	lo.mu.Lock()
	defer lo.mu.Unlock()
	return slices.Clone(lo.lines)
}

// stop ends the following once the lines that came end with tail (the
// task's last lines, read when it ended), or after liveGrace, and returns
// the lines that came.
func (lo *liveOutput) stop(tail []string) []string {
	grace := time.NewTimer(liveGrace)
	defer grace.Stop()
wait:
	for overlap(lo.seen(), tail) < len(tail) {
		select {
		case <-lo.changed:
		case <-lo.done:
			break wait
		case <-grace.C:
			break wait
		}
	}
	lo.cancel()
	<-lo.done
	return lo.seen()
}

// taskOutput reads the last lines the task printed, from the service's
// logs, and logs those that did not come through while it ran.
func (s *Swapper) taskOutput(ctx context.Context, stage swap.Phase, cmd, id string, live *liveOutput) []string {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	logs, err := s.Cluster.SwarmServiceLogs(lctx, id, taskTail)
	if err != nil {
		s.log.Warn("could not read the task's output", "phase", stage.String(), "task", cmd, "error", err)
		return tailOf(live.stop(nil), taskTail)
	}
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	seen := live.stop(out)
	for _, l := range out[overlap(seen, out):] {
		s.log.Info(l, "phase", stage.String(), "task", cmd, "stream", "output")
	}
	return out
}

// overlap is how many of tail's first lines end seen: those were logged as
// they came, the rest of tail not.
func overlap(seen, tail []string) int {
	for k := min(len(seen), len(tail)); k > 0; k-- {
		if slices.Equal(seen[len(seen)-k:], tail[:k]) {
			return k
		}
	}
	return 0
}

// tailOf is the last n of lines.
func tailOf(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// removeTask removes a task's one-off service: Swarm kills its task if it
// still runs (stop grace period zero). It runs after ctx ended too.
func (s *Swapper) removeTask(ctx context.Context, stage swap.Phase, svc *engine.SwarmService) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.Cluster.RemoveSwarmService(rctx, svc.ID); err != nil && !isNotFound(err) {
		s.log.Warn("could not remove a task's one-off service; the next dswap of the service removes it, or docker service rm", "phase", stage.String(), "service", svc.Name, "error", err)
	}
}

// taskServices are the release tasks' one-off services of the service
// name among the Swarm's services names: named as taskServiceName names
// them and labelled as dswap labels them.
func (s *Swapper) taskServices(ctx context.Context, name string, names []string) []*engine.SwarmService {
	var out []*engine.SwarmService
	prefix := BridgeName(name) + "-"
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok || !(strings.HasPrefix(rest, swap.PhasePre.String()+"-") || strings.HasPrefix(rest, swap.PhasePost.String()+"-")) {
			continue
		}
		if svc, err := s.Cluster.SwarmService(ctx, n); err == nil && svc.Labels[swap.TaskServiceLabel] == name {
			out = append(out, svc) // else gone meanwhile, or not dswap's
		}
	}
	return out
}

// removeLeftTasks removes the one-off task services a killed dswap left
// beside the service name (the caller holds its lock): a task still
// running is killed, as on one host, after its last lines are logged.
func (s *Swapper) removeLeftTasks(ctx context.Context, name string) {
	names, err := s.Cluster.SwarmServiceNames(ctx)
	if err != nil {
		s.log.Warn("could not look for release tasks an interrupted swap left", "phase", swap.PhasePlan.String(), "error", err)
		return
	}
	for _, left := range s.taskServices(ctx, name, names) {
		n, stage := left.Name, left.Labels[swap.TaskLabel]
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		logs, _ := s.Cluster.SwarmServiceLogs(lctx, left.ID, taskTail)
		cancel()
		s.log.Warn("removing a release task an interrupted swap left", "phase", swap.PhasePlan.String(), "service", n, "stage", stage, "last output", logs)
		if err := s.Cluster.RemoveSwarmService(context.WithoutCancel(ctx), left.ID); err != nil && !isNotFound(err) {
			s.log.Warn("could not remove a release task an interrupted swap left; remove it with docker service rm", "phase", swap.PhasePlan.String(), "service", n, "error", err)
		}
	}
}

// taskRecord is how release tasks change a swap's history entry, as on
// one host: a post task that failed with the new version left serving
// (report) is a swap, with the task's failure as its reason; one undone
// (rollback) is rolled-back.
func taskRecord(res *swap.Result, err error) (result, reason string, ok bool) {
	var fe *swap.FailedError
	if !errors.As(err, &fe) || fe.Phase != swap.PhasePost {
		return "", "", false
	}
	if len(res.New) > 0 {
		return "swapped", "post task failed: " + fe.Reason.Error(), true
	}
	return "rolled-back", fe.Reason.Error(), true
}
