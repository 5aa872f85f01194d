package swap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// Release tasks (migrations, cache warm-up) run in one-off containers of the
// new image with the service's settings, once per swap and under the
// service's lock: pre tasks before any new container serves, post tasks
// after the flip and before the old containers drain.

// TaskEngine is what release tasks need from the Engine besides creating,
// starting, stopping and removing containers.
type TaskEngine interface {
	// Wait delivers the container's exit code once it stops; it is called
	// before the container starts.
	Wait(ctx context.Context, id string) <-chan engine.WaitResult
	// FollowLogs calls line with each output line until the container
	// stops or ctx ends.
	FollowLogs(ctx context.Context, id string, line func(string)) error
}

// Task labels mark a one-off container as a release task of a service (its
// reference: "web", or "project/web" for a compose service), so that a
// user, or a later dswap when one was killed mid-task, can tell it from the
// service's own containers (see FindService and Damage.Tasks).
const (
	TaskLabel        = "dswap.task"
	TaskServiceLabel = "dswap.task.service"
)

// taskTailLines is how many of a task's last output lines an error and the
// result keep.
const taskTailLines = 20

// TaskResult is how one release task ended.
type TaskResult struct {
	Stage    string // "pre" or "post"
	Command  string
	ExitCode int
	Took     time.Duration
	// Output is the task's last output lines.
	Output []string
	// Failure says why the task failed; "" when it exited 0.
	Failure string
}

// TaskError is a release task that failed: it exited non-zero, ran past
// its timeout, or was interrupted. Its container has been removed.
type TaskError struct {
	Result TaskResult
	// cause is why dswap stopped the task itself (ctx's error when it was
	// interrupted), so that callers can tell Ctrl-C from a task's failure.
	cause error
}

// Unwrap gives context.Canceled for a task stopped by Ctrl-C (or a
// sidecar's cancel), nil otherwise.
func (e *TaskError) Unwrap() error { return e.cause }

func (e *TaskError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s task %q %s", e.Result.Stage, e.Result.Command, e.Result.Failure)
	if len(e.Result.Output) > 0 {
		b.WriteString("; its last output:\n  " + strings.Join(e.Result.Output, "\n  "))
	} else {
		b.WriteString(" (it printed nothing)")
	}
	return b.String()
}

// TaskArgs turns a task into the command of its container: a JSON array is
// the exec form, anything else runs in /bin/sh -c, as with --health-cmd.
// The image's entrypoint applies either way, as with `docker run IMAGE
// CMD`.
func TaskArgs(cmd string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(cmd), "[") {
		var args []string
		if err := json.Unmarshal([]byte(cmd), &args); err != nil || len(args) == 0 {
			return nil, badInput("task %s is neither a JSON array of strings such as [\"/app\",\"migrate\"] nor a shell command", cmd)
		}
		return args, nil
	}
	return []string{"/bin/sh", "-c", cmd}, nil
}

// runTasks runs a stage's tasks in order; the first that fails stops it.
func (s *Swapper) runTasks(ctx context.Context, p *plan, stage Phase, cmds []string, res *Result) error {
	if len(cmds) == 0 {
		return nil
	}
	if s.Tasks == nil {
		return badInput("release tasks need an Engine that can run them; this dswap was set up without one")
	}
	s.enter(stage, fmt.Sprintf("running %d %s task(s) in one-off containers of %s", len(cmds), stage, p.target.ref))
	for i, cmd := range cmds {
		r, err := s.runTask(ctx, p, stage, i+1, cmd)
		if res != nil {
			res.Tasks = append(res.Tasks, r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var unsafeContainerName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// runTask runs one task to completion and removes its container, whatever
// happens (Ctrl-C included).
func (s *Swapper) runTask(ctx context.Context, p *plan, stage Phase, n int, cmd string) (TaskResult, error) {
	r := TaskResult{Stage: stage.String(), Command: cmd, ExitCode: -1}
	started := time.Now()
	args, err := TaskArgs(cmd)
	if err != nil {
		return r, err
	}
	name := fmt.Sprintf("%s-%s-%d-%s", unsafeContainerName.ReplaceAllString(p.svc.Ref(), "-"), stage, n, p.swapID[len(p.swapID)-6:])
	spec := p.target.spec.OneOff(name, args, map[string]string{TaskLabel: stage.String(), TaskServiceLabel: p.svc.Ref()})
	id, err := s.Docker.Create(ctx, spec)
	if err != nil {
		return r, fmt.Errorf("creating the container of %s task %q: %w", stage, cmd, err)
	}
	defer func() {
		// The one-off goes whatever happened: a task's container must
		// not linger beside the service.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.Docker.Remove(rctx, id); err != nil && !errors.Is(err, engine.ErrNotFound) {
			s.log.Warn("could not remove a task's container; remove it with docker rm -f", "phase", stage.String(), "container", name, "error", err)
		}
	}()

	waitCtx, stopWait := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWait()
	exited := s.Tasks.Wait(waitCtx, id)
	if err := s.Docker.Start(ctx, id); err != nil {
		return r, fmt.Errorf("starting the container of %s task %q: %w", stage, cmd, err)
	}
	s.log.Info("task started", "phase", stage.String(), "task", cmd, "container", name)

	var tail []string
	lines := make(chan string, 64)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		_ = s.Tasks.FollowLogs(waitCtx, id, func(l string) { lines <- l })
	}()
	timeout := time.NewTimer(s.cfg.Tasks.Timeout)
	defer timeout.Stop()
	keep := func(l string) {
		s.log.Info(l, "phase", stage.String(), "task", cmd, "stream", "output")
		if tail = append(tail, l); len(tail) > taskTailLines {
			tail = tail[1:]
		}
	}
	stop := func(why string) {
		// Killed at once: a task stopped on a timeout or Ctrl-C must not
		// go on changing the database while dswap reports it stopped.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.Docker.Stop(sctx, id, 0); err != nil && !errors.Is(err, engine.ErrNotFound) {
			s.log.Warn("could not stop a task's container", "phase", stage.String(), "container", name, "error", err)
		}
		r.Failure = why
	}
	var ended engine.WaitResult
	var interrupted error
	finished := false
	for !finished {
		select {
		case l := <-lines:
			keep(l)
		case ended = <-exited:
			finished = true
		case <-timeout.C:
			stop(fmt.Sprintf("ran past its timeout of %s (--task-timeout) and was stopped", s.cfg.Tasks.Timeout))
			finished = true
		case <-ctx.Done():
			stop("was interrupted and stopped")
			interrupted = ctx.Err()
			finished = true
		}
	}
	// The rest of the output, bounded: the log stream ends once the
	// container has stopped.
	grace := time.NewTimer(5 * time.Second)
	defer grace.Stop()
drain:
	for {
		select {
		case l := <-lines:
			keep(l)
		case <-logsDone:
			for {
				select {
				case l := <-lines:
					keep(l)
				default:
					break drain
				}
			}
		case <-grace.C:
			break drain
		}
	}
	r.Took = time.Since(started)
	r.Output = tail
	switch {
	case r.Failure != "":
	case ended.Err != nil:
		r.Failure = "could not be followed: " + ended.Err.Error()
	case ended.ExitCode != 0:
		r.ExitCode = ended.ExitCode
		r.Failure = fmt.Sprintf("exited with code %d", ended.ExitCode)
	default:
		r.ExitCode = 0
		s.log.Info("task done", "phase", stage.String(), "task", cmd, "took", round(r.Took))
		return r, nil
	}
	s.log.Warn("task failed", "phase", stage.String(), "task", cmd, "failure", r.Failure, "took", round(r.Took))
	return r, &TaskError{Result: r, cause: interrupted}
}

// taskFailed is the error of a swap stopped by a failed task: exit 1, with
// what serves now.
func (s *Swapper) taskFailed(p *plan, stage Phase, err error, kept string) error {
	if errors.Is(err, ErrBadInput) {
		return err
	}
	s.enter(PhaseFailed, stage.String()+" task failed", "kept", kept)
	return &FailedError{Service: p.svc.Name, Phase: stage, Reason: err, Kept: kept}
}
