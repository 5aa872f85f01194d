package lab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// healthRecheck is how often WaitHealthy re-inspects even without events,
// so that a broken event stream only slows it down.
const healthRecheck = time.Second

// appLogTail is how many log lines a health failure quotes.
const appLogTail = 20

// WaitHealthy waits until the container's health status is healthy. It
// follows the Engine's events for the container and re-inspects on each one
// (and every second as a fallback). It fails at once when the container has
// no HEALTHCHECK, stops running, or turns unhealthy, and after timeout
// otherwise; the error carries the health log and the last log lines.
func (l *Lab) WaitHealthy(ctx context.Context, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Subscribe before the first inspect so that no transition is missed
	// between the two.
	msgs, errs := l.Docker.Events(ctx, events.ListOptions{
		Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("container", id)),
	})
	ticker := time.NewTicker(healthRecheck)
	defer ticker.Stop()

	var last container.InspectResponse
	for {
		inspect, err := l.Docker.ContainerInspect(ctx, id)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting for %s to be healthy: inspecting: %w", shortID(id), err)
		}
		if err == nil {
			last = inspect
			done, err := l.judgeHealth(ctx, inspect)
			if err != nil || done {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be healthy: gave up after %s: %s\n%s",
				containerName(last, id), timeout, describeState(last), l.containerLogs(ctx, id, appLogTail))
		case <-msgs:
		case <-errs:
			// The stream is gone; the ticker keeps the wait going.
			msgs, errs = nil, nil
		case <-ticker.C:
		}
	}
}

// judgeHealth decides from one inspect whether the wait is over: healthy
// (done, nil) or hopeless (an error).
func (l *Lab) judgeHealth(ctx context.Context, inspect container.InspectResponse) (bool, error) {
	name := containerName(inspect, inspect.ID)
	st := inspect.State
	switch {
	case st == nil:
		return false, nil
	case st.Health != nil && st.Health.Status == container.Healthy:
		return true, nil
	case !st.Running:
		return false, fmt.Errorf("waiting for %s to be healthy: it is not running: %s\n%s", name, describeState(inspect), l.containerLogs(ctx, inspect.ID, appLogTail))
	case st.Health == nil:
		return false, fmt.Errorf("waiting for %s to be healthy: it has no HEALTHCHECK", name)
	case st.Health.Status == container.Unhealthy:
		return false, fmt.Errorf("waiting for %s to be healthy: it turned unhealthy: %s\n%s", name, describeState(inspect), l.containerLogs(ctx, inspect.ID, appLogTail))
	}
	return false, nil
}

// containerName returns the inspected name without its slash, or fallback.
func containerName(inspect container.InspectResponse, fallback string) string {
	if inspect.ContainerJSONBase != nil && inspect.Name != "" {
		return strings.TrimPrefix(inspect.Name, "/")
	}
	return shortID(fallback)
}

// describeState summarizes state and health log for an error message.
func describeState(inspect container.InspectResponse) string {
	if inspect.ContainerJSONBase == nil || inspect.State == nil {
		return "state unknown"
	}
	st := inspect.State
	var b strings.Builder
	fmt.Fprintf(&b, "state %s", st.Status)
	if !st.Running {
		fmt.Fprintf(&b, " (exit code %d)", st.ExitCode)
	}
	if st.Health != nil {
		fmt.Fprintf(&b, ", health %s, failing streak %d", st.Health.Status, st.Health.FailingStreak)
		b.WriteString(formatHealthLog(st.Health.Log))
	}
	return b.String()
}

// formatHealthLog renders the Engine's health probe results, oldest first.
func formatHealthLog(log []*container.HealthcheckResult) string {
	if len(log) == 0 {
		return "; no health probe has finished yet"
	}
	var b strings.Builder
	b.WriteString("; health log:")
	for _, r := range log {
		if r == nil {
			continue
		}
		fmt.Fprintf(&b, "\n  %s exit %d: %s", r.End.UTC().Format(time.RFC3339), r.ExitCode, strings.TrimSpace(r.Output))
	}
	return b.String()
}
