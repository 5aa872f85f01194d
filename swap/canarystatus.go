package swap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// CanaryStatus is a service in a canary, as dswap status shows it: the
// weights its route file gives Traefik and, when Traefik's metrics can be
// read, what each child answered over a short window.
type CanaryStatus struct {
	// Weight is the canary's share of the traffic in percent; the stable
	// child gets the rest.
	Weight int
	// Paused says whether the canary waits for promote or abort; a
	// canary that is not paused is in a step, or was left by a dswap that
	// died during one.
	Paused bool
	Sticky bool
	// Stable and Canary are the children's live figures; Window is how
	// long they were read over, 0 when they were not read (no metrics, or
	// LiveWindow 0), and MetricsError why they could not be.
	Stable, Canary ChildFigures
	Window         time.Duration
	MetricsError   string
}

// ChildFigures are what one child (stable or canary, summed over the
// route's Traefik services) answered over the window.
type ChildFigures struct {
	// Services are the child's Traefik services ("web-canary").
	Services []string
	Requests float64
	Errors   float64
	// P99 is the latency's 99th percentile from Traefik's histogram;
	// HasP99 is false when the window had no request.
	P99    time.Duration
	HasP99 bool
}

// RatePerSecond is the requests per second over window.
func (f ChildFigures) RatePerSecond(window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return f.Requests / window.Seconds()
}

// ErrorRate is the share of the requests answered 5xx; 0 without requests.
func (f ChildFigures) ErrorRate() float64 {
	if f.Requests <= 0 {
		return 0
	}
	return f.Errors / f.Requests
}

// canaryOf reads a service's route file: its canary, or nil when it
// routes to one version.
func (s *Swapper) canaryOf(key string) *CanaryStatus {
	content, ok, err := s.Routes.Read(key)
	if err != nil || !ok {
		return nil
	}
	weight, weighted := labels.CanaryWeight(content)
	if !weighted {
		return nil
	}
	cs := &CanaryStatus{Weight: weight}
	if pc, paused := labels.ReadPaused(content); paused {
		cs.Paused, cs.Sticky = true, pc.Sticky
	}
	if rf, err := labels.ReadRouteFile(content); err == nil {
		for _, name := range rf.Services {
			if base, ok := strings.CutSuffix(name, "-canary"); ok && slices.Contains(rf.Services, labels.StableChild(base)) {
				cs.Canary.Services = append(cs.Canary.Services, name)
				cs.Stable.Services = append(cs.Stable.Services, labels.StableChild(base))
			}
		}
		slices.Sort(cs.Canary.Services)
		slices.Sort(cs.Stable.Services)
	}
	return cs
}

// liveCanaries reads Traefik's metrics twice, LiveWindow apart, and fills
// in what each canary's children answered in between. One window serves
// every service, so dswap status waits once however many run a canary.
func (s *Swapper) liveCanaries(ctx context.Context, canaries []*CanaryStatus) {
	if len(canaries) == 0 || s.LiveWindow <= 0 {
		return
	}
	fail := func(why string) {
		for _, cs := range canaries {
			cs.MetricsError = why
		}
	}
	if s.Metrics == nil {
		fail("Traefik's metrics are not known: give dswap Traefik's API (--traefik-api) or its metrics (--traefik-metrics)")
		return
	}
	before, err := s.Metrics.Snapshot(ctx)
	if err != nil {
		fail(err.Error())
		return
	}
	t := time.NewTimer(s.LiveWindow)
	defer t.Stop()
	select {
	case <-ctx.Done():
		fail(fmt.Sprintf("interrupted while reading the metrics: %v", ctx.Err()))
		return
	case <-t.C:
	}
	after, err := s.Metrics.Snapshot(ctx)
	if err != nil {
		fail(err.Error())
		return
	}
	window := after.At.Sub(before.At)
	if window <= 0 {
		window = s.LiveWindow
	}
	for _, cs := range canaries {
		cs.Window = window
		cs.Stable = figures(before, after, cs.Stable.Services)
		cs.Canary = figures(before, after, cs.Canary.Services)
	}
}

// figures sums the named children's counters between two snapshots.
func figures(before, after traefik.Snapshot, services []string) ChildFigures {
	sum := sumWindow(before, after, services)
	f := ChildFigures{Services: services, Requests: sum.Requests, Errors: sum.Errors}
	f.P99, f.HasP99 = sum.Quantile(0.99)
	return f
}
