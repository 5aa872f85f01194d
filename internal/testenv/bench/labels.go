package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/timeline"
)

// labelSwapper models the label-based rollout tools (docker-rollout and
// the like), not dswap: every container of the service carries the same
// traefik.* labels and Traefik's docker provider routes whatever is
// running and healthy. A swap starts a new container with the same labels,
// waits until Docker says it is healthy (and optionally a grace period),
// then `docker stop`s the old one with Docker's default 10 s timeout and
// removes it.
type labelSwapper struct {
	l     *lab.Lab
	sc    Scenario
	grace time.Duration
	// current is the container serving now.
	current string
}

// labelReadiness is how the baseline decides readiness, for the tables.
const labelReadiness = "Docker health status (docker provider routes healthy containers)"

func newLabelSwapper(l *lab.Lab, sc Scenario, grace time.Duration) *labelSwapper {
	return &labelSwapper{l: l, sc: sc, grace: grace}
}

// routeLabels are the labels every container of the service carries.
func routeLabels() map[string]string {
	return map[string]string{
		"traefik.enable": "true",
		"traefik.http.routers." + serviceName + ".rule":                      "Host(`" + serviceHost + "`)",
		"traefik.http.routers." + serviceName + ".entrypoints":               "web",
		"traefik.http.services." + serviceName + ".loadbalancer.server.port": "8080",
	}
}

func (b *labelSwapper) containerName(n int) string {
	return b.l.Prefix + "-" + serviceName + "-" + strconv.Itoa(n)
}

func (b *labelSwapper) start(ctx context.Context, first image) error {
	id, err := b.l.RunApp(ctx, lab.App{Name: b.containerName(1), Image: first.Tag, Labels: routeLabels()})
	if err != nil {
		return err
	}
	b.current = id
	return b.l.WaitHealthy(ctx, id, healthWait(b.sc))
}

func (b *labelSwapper) swap(ctx context.Context, index int, from, to image) (Swap, error) {
	sw := Swap{Index: index, From: from.Version, To: to.Version, Readiness: labelReadiness, Start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, swapTimeout(b.sc))
	defer cancel()
	// Subscribe before the container exists so that its health event
	// cannot be missed.
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	msgs, errs := b.l.Docker.Events(evCtx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", lab.LabelKey+"="+b.l.Prefix),
	)})

	id, err := b.l.RunApp(ctx, lab.App{Name: b.containerName(index + 2), Image: to.Tag, Labels: routeLabels()})
	if err != nil {
		sw.End = time.Now()
		sw.Err = err
		return sw, b.discard(ctx, id)
	}
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "docker run new", At: sw.Start})
	if sw.StartedAt, err = startedAt(ctx, b.l, id); err != nil {
		return sw, err
	}
	sw.ReadyAt = sw.StartedAt.Add(b.sc.ReadyAfter)
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "started", At: sw.StartedAt})
	if b.sc.ReadyAfter > 0 {
		sw.Marks = append(sw.Marks, timeline.Mark{Name: "app ready", At: sw.ReadyAt})
	}

	sw.HealthyAt, err = waitHealthEvent(ctx, msgs, errs, id)
	stopEvents()
	if err != nil {
		sw.End = time.Now()
		sw.Err = err
		return sw, b.discard(ctx, id)
	}
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "healthy", At: sw.HealthyAt})
	if b.grace > 0 {
		// The competitor's own fixed wait after healthy, modelled as it is.
		if err := pause(ctx, b.grace); err != nil {
			return sw, err
		}
	}

	sigterm := time.Now()
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "SIGTERM old", At: sigterm})
	// A nil timeout is `docker stop` without -t: the container's own stop
	// timeout, else Docker's default of 10 s.
	if err := b.l.Docker.ContainerStop(ctx, b.current, container.StopOptions{}); err != nil {
		return sw, fmt.Errorf("stopping old container %s: %w", b.current, err)
	}
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "old exited", At: time.Now()})
	if err := b.l.Docker.ContainerRemove(ctx, b.current, container.RemoveOptions{}); err != nil {
		return sw, fmt.Errorf("removing old container %s: %w", b.current, err)
	}
	sw.End = time.Now()
	sw.Marks = append(sw.Marks, timeline.Mark{Name: "removed", At: sw.End})
	b.current = id
	return sw, nil
}

// discard removes a new container that did not become healthy; the old
// one keeps serving.
func (b *labelSwapper) discard(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	err := b.l.Docker.ContainerRemove(context.WithoutCancel(ctx), id, container.RemoveOptions{Force: true})
	if err != nil {
		return fmt.Errorf("removing the new container %s after a failed swap: %w", id, err)
	}
	return nil
}

// waitHealthEvent waits for the Engine's health_status: healthy event of
// container id and returns the Engine's time for it. It fails when the
// container dies or turns unhealthy first, when the stream breaks, or
// when ctx ends.
func waitHealthEvent(ctx context.Context, msgs <-chan events.Message, errs <-chan error, id string) (time.Time, error) {
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for container %.12s to turn healthy: %w", id, ctx.Err())
		case err := <-errs:
			if err == nil {
				err = errors.New("stream closed")
			}
			return time.Time{}, fmt.Errorf("waiting for container %.12s to turn healthy: Docker event stream: %w", id, err)
		case m := <-msgs:
			if m.Actor.ID != id {
				continue
			}
			switch string(m.Action) {
			case "health_status: healthy":
				return time.Unix(0, m.TimeNano), nil
			case "health_status: unhealthy":
				return time.Time{}, fmt.Errorf("new container %.12s turned unhealthy", id)
			case "die":
				return time.Time{}, fmt.Errorf("new container %.12s exited before it was healthy", id)
			}
		}
	}
}
