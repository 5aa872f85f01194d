package engine

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeExec plays the Engine's exec API: the command writes output, then
// exits with exitCode. Until all of its output has been read it is still
// running, as an exec whose output pipe is full is.
type fakeExec struct {
	output   []byte
	exitCode int
	drained  atomic.Bool
}

func (f *fakeExec) ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error) {
	return container.ExecCreateResponse{ID: "exec1"}, nil
}

func (f *fakeExec) ContainerExecAttach(ctx context.Context, id string, opts container.ExecAttachOptions) (types.HijackedResponse, error) {
	server, client := net.Pipe()
	go func() {
		w := stdcopy.NewStdWriter(server, stdcopy.Stdout)
		_, _ = w.Write(f.output)
		f.drained.Store(true)
		server.Close()
	}()
	return types.NewHijackedResponse(client, "application/vnd.docker.multiplexed-stream"), nil
}

func (f *fakeExec) ContainerExecInspect(ctx context.Context, id string) (container.ExecInspect, error) {
	if !f.drained.Load() {
		return container.ExecInspect{ExecID: id, Running: true, ExitCode: 0}, nil
	}
	return container.ExecInspect{ExecID: id, Running: false, ExitCode: f.exitCode}, nil
}

func TestExecWaitsForTheCommandPastLargeOutput(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		exitCode int
	}{
		{"short output, failing", 100, 1},
		{"output past the limit, failing", 200 << 10, 1},
		{"output past the limit, passing", 200 << 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeExec{output: bytes.Repeat([]byte("x"), tc.size), exitCode: tc.exitCode}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := runExec(ctx, f, "c1", []string{"check"})
			require.NoError(t, err)
			assert.Equal(t, tc.exitCode, res.ExitCode, "the exit code of the ended command, not of a running one")
			assert.LessOrEqual(t, len(res.Output), maxExecOutput)
			assert.True(t, strings.HasPrefix(res.Output, "xxx"))
		})
	}
}
