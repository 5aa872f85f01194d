package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:          cmd,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, notFound(err, "creating exec in container "+id)
	}
	att, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("attaching to exec in container %s: %w", id, err)
	}
	defer att.Close()
	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&buf, &buf, io.LimitReader(att.Reader, 64<<10))
		done <- err
	}()
	select {
	case <-ctx.Done():
		return ExecResult{}, fmt.Errorf("running %q in container %s: %w", strings.Join(cmd, " "), id, ctx.Err())
	case <-done:
	}
	info, err := e.api.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return ExecResult{}, fmt.Errorf("inspecting exec in container %s: %w", id, err)
	}
	return ExecResult{ExitCode: info.ExitCode, Output: strings.TrimSpace(buf.String())}, nil
}
