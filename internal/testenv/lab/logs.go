package lab

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// logsTimeout bounds reading logs for an error message, which must not hang
// the failure it is trying to explain.
const logsTimeout = 10 * time.Second

// containerLogs returns the last tail lines of a container's stdout and
// stderr, or a note saying why they could not be read. It uses a context
// detached from ctx's cancellation because it is typically called right
// after ctx expired, to explain the timeout.
func (l *Lab) containerLogs(ctx context.Context, id string, tail int) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logsTimeout)
	defer cancel()
	rc, err := l.Docker.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Tail:       strconv.Itoa(tail),
	})
	if err != nil {
		return fmt.Sprintf("(could not read logs of %s: %v)", shortID(id), err)
	}
	defer rc.Close()
	// Containers run without a TTY, so the stream is multiplexed; both
	// halves go to one buffer to keep the lines in order.
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return fmt.Sprintf("%s\n(reading logs of %s stopped: %v)", buf.String(), shortID(id), err)
	}
	out := strings.TrimRight(buf.String(), "\n")
	if out == "" {
		return "(no log output)"
	}
	return out
}
