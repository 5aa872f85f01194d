package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// The benchmark's service: one router on one host name.
const (
	serviceName = "bench"
	serviceHost = "bench.localhost"
)

// image is one version of the service.
type image struct {
	Tag, Version string
}

// swapper is one strategy's side of a run: it starts the first version,
// then swaps versions one at a time. A swap that fails the way a user
// would see it fail is returned with Swap.Err set; an error return means
// the harness itself could not go on.
type swapper interface {
	start(ctx context.Context, first image) error
	swap(ctx context.Context, index int, from, to image) (Swap, error)
}

// healthWait bounds waiting for a container of the scenario to turn
// healthy: a few intervals plus a margin for a loaded machine.
func healthWait(sc Scenario) time.Duration {
	return 4*sc.HealthInterval + time.Minute
}

// swapTimeout bounds one whole swap: health, the drain and a margin.
func swapTimeout(sc Scenario) time.Duration {
	return healthWait(sc) + Drain + 2*time.Minute
}

// startedAt reads a container's State.StartedAt.
func startedAt(ctx context.Context, l *lab.Lab, nameOrID string) (time.Time, error) {
	inspect, err := l.Docker.ContainerInspect(ctx, nameOrID)
	if err != nil {
		return time.Time{}, fmt.Errorf("inspecting new container %s: %w", nameOrID, err)
	}
	if inspect.State == nil || inspect.State.StartedAt == "" {
		return time.Time{}, fmt.Errorf("new container %s has no start time", nameOrID)
	}
	t, err := time.Parse(time.RFC3339Nano, inspect.State.StartedAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("new container %s: start time %q: %w", nameOrID, inspect.State.StartedAt, err)
	}
	return t, nil
}

// pause waits d unless ctx ends first. It is for the benchmark's
// deliberate spacing and measurement windows only, never to wait for
// something that an event or an API could confirm.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// routedTimeout bounds waitRouted.
const routedTimeout = time.Minute

// waitRouted waits until a request through Traefik for the service's host
// is answered by version, polling every 50 ms, so that a load run starts
// only once the route is in place (Traefik's docker provider applies a
// new container a throttle period after its health event) and no earlier
// swap is still settling.
func waitRouted(ctx context.Context, webURL, version string) error {
	ctx, cancel := context.WithTimeout(ctx, routedTimeout)
	defer cancel()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	last := "no answer yet"
	for {
		got, err := lab.ProbeVersion(ctx, webURL+"/?delay=0s", serviceHost)
		switch {
		case err != nil:
			last = err.Error()
		case got == version:
			return nil
		default:
			last = fmt.Sprintf("answered %q", got)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting until Traefik routes %s to %s: %w; last: %s", serviceHost, version, ctx.Err(), last)
		case <-ticker.C:
		}
	}
}
