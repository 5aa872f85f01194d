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

func runKeeper(t *testing.T, f *fakeUpkeeper, k *Keeper) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	k.Upkeeper = f
	go func() { defer close(done); _ = k.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func event(action string, labels map[string]string) engine.Event {
	attrs := map[string]string{"image": "myapp:v1", "name": "c"}
	for k, v := range labels {
		attrs[k] = v
	}
	return engine.Event{Action: action, Attributes: attrs, Time: time.Now()}
}

func TestKeeperLooksAtEveryServiceAtStartAndOnceAfterABurst(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"proj/web"}, events: make(chan engine.Event)}
	runKeeper(t, f, &Keeper{Quiet: 50 * time.Millisecond})
	require.Eventually(t, func() bool { return len(f.reconciled()) == 1 }, 5*time.Second, 5*time.Millisecond, "adopted at start")

	web := map[string]string{"dswap.enable": "true", "com.docker.compose.project": "proj", "com.docker.compose.service": "web"}
	for _, a := range []string{"die", "start", "health_status: healthy"} {
		f.events <- event(a, web)
	}
	// Not managed, or an action that changes nothing: ignored.
	f.events <- event("start", map[string]string{"com.docker.compose.project": "proj", "com.docker.compose.service": "db"})
	f.events <- event("exec_start: sh", web)
	require.Eventually(t, func() bool { return len(f.reconciled()) == 2 }, 5*time.Second, 5*time.Millisecond)
	// Nothing more comes: a few quiet periods pass without a reconcile.
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, []string{"proj/web", "proj/web"}, f.reconciled())
}

func TestKeeperRetriesWhileASwapHoldsTheLock(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"web"}, events: make(chan engine.Event)}
	f.result = func(ref string, n int) (swap.Reconciled, error) {
		if n < 3 {
			return swap.Reconciled{}, fmt.Errorf("locking: %w", &lock.HeldError{Name: ref})
		}
		return swap.Reconciled{Service: ref, Upkeep: swap.UpkeepUnchanged}, nil
	}
	runKeeper(t, f, &Keeper{Quiet: 10 * time.Millisecond, RetryLocked: 30 * time.Millisecond})
	require.Eventually(t, func() bool { return len(f.reconciled()) == 3 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	assert.Len(t, f.reconciled(), 3, "no more tries once it got the lock")
}

func TestKeeperDoesNotRetryBadInputButGivesUpOnFailuresAfterMaxTries(t *testing.T) {
	f := &fakeUpkeeper{managed: []string{"bad", "flaky"}, events: make(chan engine.Event)}
	f.result = func(ref string, n int) (swap.Reconciled, error) {
		if ref == "bad" {
			return swap.Reconciled{}, fmt.Errorf("label: %w", swap.ErrBadInput)
		}
		return swap.Reconciled{}, fmt.Errorf("Traefik API did not answer")
	}
	runKeeper(t, f, &Keeper{Quiet: 10 * time.Millisecond, RetryFailed: 10 * time.Millisecond, MaxFailures: 3})
	require.Eventually(t, func() bool {
		n := 0
		for _, c := range f.reconciled() {
			if c == "flaky" {
				n++
			}
		}
		return n == 3
	}, 5*time.Second, 5*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	var bad, flaky int
	for _, c := range f.reconciled() {
		if c == "bad" {
			bad++
		} else {
			flaky++
		}
	}
	assert.Equal(t, 1, bad, "bad labels are the user's to fix: no retry until an event")
	assert.Equal(t, 3, flaky, "retried, then given up until the next event")
}
