package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

type fakeUpkeeper struct {
	mu      sync.Mutex
	managed []string
	events  chan engine.Event
	calls   []string
	// result answers Reconcile; nil succeeds with UpkeepUnchanged.
	result func(ref string, n int) (swap.Reconciled, error)
}

func (f *fakeUpkeeper) Reconcile(_ context.Context, ref string, _ *slog.Logger) (swap.Reconciled, error) {
	f.mu.Lock()
	f.calls = append(f.calls, ref)
	n := 0
	for _, c := range f.calls {
		if c == ref {
			n++
		}
	}
	fn := f.result
	f.mu.Unlock()
	if fn != nil {
		return fn(ref, n)
	}
	return swap.Reconciled{Service: ref, Upkeep: swap.UpkeepUnchanged}, nil
}

func (f *fakeUpkeeper) ManagedRefs(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.managed...), nil
}

func (f *fakeUpkeeper) Events(context.Context) (<-chan engine.Event, <-chan error) {
	return f.events, make(chan error)
}

func (f *fakeUpkeeper) reconciled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// runKeeper runs k against f on a fake clock, and returns the clock.
func runKeeper(t *testing.T, f *fakeUpkeeper, k *Keeper) *fakeClock {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	clk := newFakeClock()
	k.Upkeeper, k.clock = f, clk
	go func() { defer close(done); _ = k.Run(ctx) }()
	t.Cleanup(func() { cancel(); close(clk.done); <-done })
	return clk
}

func event(action string, labels map[string]string) engine.Event {
	attrs := map[string]string{"image": "myapp:v1", "name": "c"}
	for k, v := range labels {
		attrs[k] = v
	}
	return engine.Event{Action: action, Attributes: attrs, Time: time.Now()}
}

// count is how often ref was reconciled.
func (f *fakeUpkeeper) count(ref string) int {
	n := 0
	for _, c := range f.reconciled() {
		if c == ref {
			n++
		}
	}
	return n
}

func TestKeeperLooksAtEveryServiceAtStartAndOnceAfterABurst(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"proj/web"}, events: make(chan engine.Event)}
	clk := runKeeper(t, f, &Keeper{Quiet: 50 * time.Millisecond})
	start := clk.Now()
	assert.Equal(t, armed{at: start.Add(50 * time.Millisecond)}, clk.next(t), "adopting every service after a quiet period")
	clk.advance(50 * time.Millisecond)
	assert.Equal(t, armed{idle: true}, clk.next(t), "nothing left to do once adopted")
	assert.Equal(t, []string{"proj/web"}, f.reconciled())

	// An action that changes nothing is ignored.
	web := map[string]string{"dswap.enable": "true", "com.docker.compose.project": "proj", "com.docker.compose.service": "web"}
	f.events <- event("exec_start: sh", web)
	assert.Equal(t, armed{idle: true}, clk.next(t), "exec_start changes no route")

	// A burst, 10 ms apart: one look, a quiet period after the last.
	for _, a := range []string{"die", "start", "health_status: healthy"} {
		clk.advance(10 * time.Millisecond)
		f.events <- event(a, web)
		assert.Equal(t, armed{at: clk.Now().Add(50 * time.Millisecond)}, clk.next(t), "%s postpones the look", a)
	}
	clk.advance(49 * time.Millisecond)
	assert.Len(t, f.reconciled(), 1, "not before the quiet period ends")
	clk.advance(time.Millisecond)
	assert.Equal(t, armed{idle: true}, clk.next(t), "one look for the burst, then nothing until the next event")
	assert.Equal(t, []string{"proj/web", "proj/web"}, f.reconciled())
}

func TestKeeperLooksAtEveryServiceWhenAnotherContainerStarts(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"proj/web", "api"}, events: make(chan engine.Event)}
	clk := runKeeper(t, f, &Keeper{Quiet: 50 * time.Millisecond})
	clk.next(t)
	clk.advance(50 * time.Millisecond)
	require.Equal(t, armed{idle: true}, clk.next(t))
	require.Len(t, f.reconciled(), 2)

	// A container dswap does not manage may carry a routed container's
	// name as a network alias: every service is looked at again.
	other := map[string]string{"com.docker.compose.project": "proj", "com.docker.compose.service": "db"}
	f.events <- event("die", other)
	assert.Equal(t, armed{idle: true}, clk.next(t), "another container stopping takes no name")
	f.events <- event("start", other)
	assert.Equal(t, armed{at: clk.Now().Add(50 * time.Millisecond)}, clk.next(t))
	clk.advance(50 * time.Millisecond)
	assert.Equal(t, armed{idle: true}, clk.next(t))
	assert.Equal(t, []string{"api", "proj/web", "api", "proj/web"}, f.reconciled())
}

func TestKeeperRetriesWhileASwapHoldsTheLock(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"web"}, events: make(chan engine.Event)}
	f.result = func(ref string, n int) (swap.Reconciled, error) {
		if n < 3 {
			return swap.Reconciled{}, fmt.Errorf("locking: %w", &lock.HeldError{Name: ref})
		}
		return swap.Reconciled{Service: ref, Upkeep: swap.UpkeepUnchanged}, nil
	}
	clk := runKeeper(t, f, &Keeper{Quiet: 10 * time.Millisecond, RetryLocked: 30 * time.Millisecond})
	clk.next(t)
	clk.advance(10 * time.Millisecond)
	for try := 1; try <= 2; try++ {
		assert.Equal(t, armed{at: clk.Now().Add(30 * time.Millisecond)}, clk.next(t), "try %d found the lock held: again after RetryLocked", try)
		assert.Equal(t, try, f.count("web"))
		clk.advance(30 * time.Millisecond)
	}
	assert.Equal(t, armed{idle: true}, clk.next(t), "no more tries once it got the lock")
	assert.Equal(t, 3, f.count("web"))
}

func TestKeeperDoesNotRetryBadInputButGivesUpOnFailuresAfterMaxTries(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"bad", "flaky"}, events: make(chan engine.Event)}
	f.result = func(ref string, n int) (swap.Reconciled, error) {
		if ref == "bad" {
			return swap.Reconciled{}, fmt.Errorf("label: %w", swap.ErrBadInput)
		}
		return swap.Reconciled{}, fmt.Errorf("Traefik API did not answer")
	}
	clk := runKeeper(t, f, &Keeper{Quiet: 10 * time.Millisecond, RetryFailed: 10 * time.Millisecond, MaxFailures: 3})
	clk.next(t)
	clk.advance(10 * time.Millisecond)
	for try, backoff := 1, 10*time.Millisecond; try <= 2; try, backoff = try+1, 2*backoff {
		assert.Equal(t, armed{at: clk.Now().Add(backoff)}, clk.next(t), "failure %d: tried again after %s", try, backoff)
		clk.advance(backoff)
	}
	assert.Equal(t, armed{idle: true}, clk.next(t), "given up until the next event")
	assert.Equal(t, 1, f.count("bad"), "bad labels are the user's to fix: no retry until an event")
	assert.Equal(t, 3, f.count("flaky"), "retried, then given up until the next event")
}

// brokenUpkeeper's event stream is broken at every subscription, as when
// the Docker daemon is down.
type brokenUpkeeper struct {
	fakeUpkeeper
	subscribed chan struct{}
}

func (f *brokenUpkeeper) Events(ctx context.Context) (<-chan engine.Event, <-chan error) {
	select {
	case f.subscribed <- struct{}{}:
	case <-ctx.Done():
	}
	errs := make(chan error, 1)
	errs <- fmt.Errorf("Cannot connect to the Docker daemon")
	return make(chan engine.Event), errs
}

func TestKeeperSubscribesAgainWithinSecondsWhileTheDaemonIsDown(t *testing.T) {
	f := &brokenUpkeeper{subscribed: make(chan struct{})}
	clk := newFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	k := &Keeper{Upkeeper: f, clock: clk}
	go func() { defer close(done); _ = k.Run(ctx) }()
	defer func() { cancel(); close(clk.done); <-done }()

	var waits []time.Duration
	for range 7 {
		select {
		case <-f.subscribed:
		case <-time.After(5 * time.Second):
			require.FailNow(t, "the keeper did not subscribe again")
		}
		assert.Equal(t, armed{idle: true}, clk.next(t), "nothing due while the stream is broken")
		// The keeper now sees the error and arms its backoff timer.
		var wait time.Duration
		require.Eventually(t, func() bool {
			clk.mu.Lock()
			defer clk.mu.Unlock()
			if tm := clk.timer; tm != nil && tm.active && tm.at.After(clk.now) {
				wait = tm.at.Sub(clk.now)
				return true
			}
			return false
		}, 5*time.Second, time.Millisecond)
		waits = append(waits, wait)
		clk.advance(wait)
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}, waits,
		"doubling from 1 s, never above %s", resubscribeMax)
}
