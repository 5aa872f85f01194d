package server

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test drives. The keeper arms its timer (Reset
// or Stop) exactly once each time it is about to wait, and fakeClock hands
// each arming to the test on armed: the keeper does not go on until the
// test took it, so the test always knows the keeper has done everything it
// was going to do, and whether it means to do more (a timer is armed) or
// nothing until the next event (stopped).
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	timer *fakeTimer
	armed chan armed
	done  chan struct{}
}

// armed is what the keeper waits for: the time its timer fires, or
// nothing (idle).
type armed struct {
	at   time.Time
	idle bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), armed: make(chan armed), done: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1), at: c.now.Add(d), active: true}
	c.timer = t
	return t
}

// advance moves time on and fires the timer if it is due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	if t := c.timer; t != nil && t.active && !t.at.After(c.now) {
		t.active = false
		t.ch <- c.now
	}
}

// next returns the keeper's next arming, failing the test if it does not
// come: the keeper is stuck or gone.
func (c *fakeClock) next(t *testing.T) armed {
	t.Helper()
	select {
	case a := <-c.armed:
		return a
	case <-time.After(5 * time.Second):
		require.FailNow(t, "the keeper did not get back to waiting within 5s")
		return armed{}
	}
}

type fakeTimer struct {
	clock  *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	was := t.active
	t.active = false
	t.drain()
	t.clock.mu.Unlock()
	t.report(armed{idle: true})
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	was := t.active
	t.active, t.at = true, t.clock.now.Add(d)
	t.drain()
	at := t.at
	t.clock.mu.Unlock()
	t.report(armed{at: at})
	return was
}

// drain drops a tick not yet received, as Go's timers do on Stop and Reset.
func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

func (t *fakeTimer) report(a armed) {
	select {
	case t.clock.armed <- a:
	case <-t.clock.done:
	}
}
