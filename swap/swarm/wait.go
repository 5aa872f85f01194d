package swarm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// A task whose image (or spec) has a HEALTHCHECK is reported running by
// Swarm only once its container is healthy: the Engine's executor starts
// the container and then waits for its health_status: healthy event before
// it reports the task started; an unhealthy one is shut down and the task
// fails (moby daemon/cluster/executor/container/controller.go, controller
// Start). So "all tasks running with the new image" is "all healthy".

// errTaskFailed marks a task of the new image that failed or was rejected.
var errTaskFailed = errors.New("a task failed")

// taskFailure is a failed task, with what Swarm said of it.
type taskFailure struct {
	task engine.SwarmTask
}

func (f *taskFailure) Error() string {
	msg := f.task.Err
	if msg == "" {
		msg = f.task.Message
	}
	out := fmt.Sprintf("task %s (slot %d) %s: %s (exit code %d)", shortID(f.task.ID), f.task.Slot, f.task.State, msg, f.task.ExitCode)
	if f.task.State == "complete" {
		// Swarm stops a task whose health check fails; an app that exits
		// 0 on SIGTERM then leaves a task "complete", not "failed".
		out += "; it stopped while the service should run: it exited by itself, or Swarm stopped it because its health check failed"
	}
	return out
}

func (f *taskFailure) Is(target error) bool { return target == errTaskFailed }

// running picks the tasks that run image and are meant to, by slot.
func running(tasks []engine.SwarmTask, image string) []engine.SwarmTask {
	var out []engine.SwarmTask
	for _, t := range tasks {
		if t.Running() && t.Image == image {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out
}

// settled says whether exactly want tasks run image and no other task is
// meant to run: the service's update is over.
func settled(tasks []engine.SwarmTask, image string, want int) bool {
	n := 0
	for _, t := range tasks {
		if t.DesiredState != "running" {
			continue
		}
		if !t.Running() || t.Image != image {
			return false
		}
		n++
	}
	return n == want
}

// failedSince is the first task of image that failed, was rejected or
// ended (a replicated service's task is meant to run for good) after
// since.
func failedSince(tasks []engine.SwarmTask, image string, since time.Time) *taskFailure {
	for _, t := range tasks {
		if t.Image != image || t.Updated.Before(since) {
			continue
		}
		if t.State == "failed" || t.State == "rejected" || t.State == "complete" {
			return &taskFailure{task: t}
		}
	}
	return nil
}

// waitRunning waits until service id runs want tasks of image and no
// other, all running (healthy), within timeout; a failed task of image
// ends the wait at once. check, when set, is asked on each look (a
// service update's own state).
func (s *Swapper) waitRunning(ctx context.Context, id, image string, want int, timeout time.Duration, check func(context.Context) error) ([]engine.SwarmTask, error) {
	since := s.Now().Add(-time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []engine.SwarmTask
	for {
		tasks, err := s.Cluster.SwarmTasks(ctx, id)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if err == nil {
			last = tasks
			if f := failedSince(tasks, image, since); f != nil {
				return nil, f
			}
			if settled(tasks, image, want) {
				return running(tasks, image), nil
			}
			if check != nil {
				if err := check(ctx); err != nil {
					return nil, err
				}
			}
		}
		if err := sleep(ctx, s.Poll); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("waited %s for %d task(s) of %s to run healthy; %s", timeout, want, image, describeTasks(last))
			}
			return nil, err
		}
	}
}

// waitSettled waits until none of the service's tasks runs or is meant
// to, within timeout.
func (s *Swapper) waitGone(ctx context.Context, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []engine.SwarmTask
	for {
		tasks, err := s.Cluster.SwarmTasks(ctx, id)
		if err == nil {
			last = tasks
			if allEnded(tasks) {
				return nil
			}
		} else if ctx.Err() == nil {
			return err
		}
		if err := sleep(ctx, s.Poll); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("waited %s for the tasks to stop; %s", timeout, describeTasks(last))
			}
			return err
		}
	}
}

func allEnded(tasks []engine.SwarmTask) bool {
	for _, t := range tasks {
		if !t.Ended() {
			return false
		}
	}
	return true
}

// describeTasks says where the tasks meant to run are, for a timeout.
func describeTasks(tasks []engine.SwarmTask) string {
	if len(tasks) == 0 {
		return "no task seen"
	}
	var parts []string
	for _, t := range tasks {
		if t.DesiredState != "running" && t.Ended() {
			continue
		}
		p := fmt.Sprintf("slot %d %s (%s)", t.Slot, t.State, t.Image)
		if t.Err != "" {
			p += ": " + t.Err
		} else if t.Message != "" {
			p += ": " + t.Message
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "every task has ended"
	}
	return "tasks: " + strings.Join(parts, "; ")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
