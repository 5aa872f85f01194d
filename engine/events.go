package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// Event is one container event from the daemon.
type Event struct {
	ContainerID string
	// Action is the daemon's action: "start", "die", "health_status: healthy",
	// "health_status: unhealthy", "stop", "destroy", ...
	Action string
	Time   time.Time
	// Attributes carry the container's labels and, for "die", "exitCode".
	Attributes map[string]string
}

// Health returns "healthy" or "unhealthy" for a health_status event, else "".
func (ev Event) Health() string {
	if s, ok := strings.CutPrefix(ev.Action, "health_status:"); ok {
		return strings.TrimSpace(s)
	}
	return ""
}

// EventFilter selects container events.
type EventFilter struct {
	Containers []string
	Labels     []string
	// Since replays the daemon's recent events from this time, so that a
	// subscription made just after an action still sees what it caused.
	Since time.Time
}

// Events streams container events until ctx ends. The error channel gets
// one value when the stream breaks. Subscribe before acting on a container
// so that no event is missed between the action and the subscription.
func (e *Engine) Events(ctx context.Context, f EventFilter) (<-chan Event, <-chan error) {
	args := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))
	for _, c := range f.Containers {
		args.Add("container", c)
	}
	for _, l := range f.Labels {
		args.Add("label", l)
	}
	opts := events.ListOptions{Filters: args}
	if !f.Since.IsZero() {
		opts.Since = strconv.FormatFloat(float64(f.Since.UnixNano())/1e9, 'f', 9, 64)
	}
	msgs, errs := e.api.Events(ctx, opts)
	out := make(chan Event)
	outErr := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errs:
				if ctx.Err() == nil {
					outErr <- fmt.Errorf("watching Docker events: %w", err)
				}
				return
			case m := <-msgs:
				ev := Event{
					ContainerID: m.Actor.ID,
					Action:      string(m.Action),
					Time:        time.Unix(0, m.TimeNano),
					Attributes:  m.Actor.Attributes,
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, outErr
}
