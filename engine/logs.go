package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Logs returns the last tail lines of a container's stdout and stderr,
// interleaved as the daemon stored them.
func (e *Engine) Logs(ctx context.Context, id string, tail int) (string, error) {
	rc, err := e.api.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Tail:       strconv.Itoa(tail),
	})
	if err != nil {
		return "", notFound(err, "reading logs of container "+id)
	}
	defer rc.Close()
	var buf bytes.Buffer
	// A container without a TTY has multiplexed output; one with a TTY does
	// not. Try to demultiplex and fall back to the raw bytes.
	raw, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading logs of container %s: %w", id, err)
	}
	if _, err := stdcopy.StdCopy(&buf, &buf, bytes.NewReader(raw)); err != nil {
		return strings.TrimRight(string(raw), "\n"), nil
	}
	return strings.TrimRight(buf.String(), "\n"), nil
}

// ExecResult is the outcome of a command run inside a container.
type ExecResult struct {
	ExitCode int
	Output   string
}

// Exec runs cmd inside a running container and waits for it (bounded by
// ctx). It is how dswap runs a container's own HEALTHCHECK test at a short
// interval while the container starts.
func (e *Engine) Exec(ctx context.Context, id string, cmd []string) (ExecResult, error) {
	return runExec(ctx, e.api, id, cmd)
}

// maxExecOutput bounds the output an exec's result keeps.
const maxExecOutput = 64 << 10

// execAPI is the part of the Engine's API an exec needs.
type execAPI interface {
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, id string, opts container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, id string) (container.ExecInspect, error)
}

func runExec(ctx context.Context, api execAPI, id string, cmd []string) (ExecResult, error) {
	created, err := api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:          cmd,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, notFound(err, "creating exec in container "+id)
	}
	att, err := api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("attaching to exec in container %s: %w", id, err)
	}
	defer att.Close()
	buf := &limitedBuffer{max: maxExecOutput}
	done := make(chan error, 1)
	go func() {
		// Everything is read, past the limit too: the output ends when
		// the command does, and a command that is still writing is still
		// running, so its exit code is not known yet.
		_, err := stdcopy.StdCopy(buf, buf, att.Reader)
		done <- err
	}()
	select {
	case <-ctx.Done():
		return ExecResult{}, fmt.Errorf("running %q in container %s: %w", strings.Join(cmd, " "), id, ctx.Err())
	case <-done:
	}
	info, err := execEnded(ctx, api, created.ID)
	if err != nil {
		return ExecResult{}, fmt.Errorf("running %q in container %s: %w", strings.Join(cmd, " "), id, err)
	}
	return ExecResult{ExitCode: info.ExitCode, Output: strings.TrimSpace(buf.String())}, nil
}

// execEndPoll is how often dswap asks whether an exec whose output has
// closed has also been reaped: the Engine closes the stream and records
// the exit code in two steps, and sends no event this client waits on.
const execEndPoll = 20 * time.Millisecond

// execEnded inspects the exec until it is no longer running (bounded by
// ctx): an exit code read while it runs is 0 and means nothing.
func execEnded(ctx context.Context, api execAPI, execID string) (container.ExecInspect, error) {
	for {
		info, err := api.ContainerExecInspect(ctx, execID)
		if err != nil {
			return info, fmt.Errorf("inspecting the exec: %w", err)
		}
		if !info.Running {
			return info, nil
		}
		t := time.NewTimer(execEndPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return info, fmt.Errorf("its output ended but it was still running: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// limitedBuffer keeps the first max bytes written to it and discards the
// rest, so that output of any size is read to its end.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
