package swap

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/lock"
)

// fakeLocker stands for another dswap that holds the lock: while the swap
// waits, held does what that dswap did with the service, then the lock
// is given (or, when refuse is set, refused).
type fakeLocker struct {
	w      *world
	held   func(w *world)
	refuse error
	// asked are the waits Lock was asked for; released counts releases.
	asked    []lock.Wait
	released int
}

func (l *fakeLocker) Lock(_ context.Context, key string, wait lock.Wait) (func(), error) {
	l.w.record("lock %s", key)
	l.asked = append(l.asked, wait)
	if l.held != nil {
		l.held(l.w)
	}
	if l.refuse != nil {
		return nil, l.refuse
	}
	return func() { l.w.record("unlock %s", key); l.released++ }, nil
}

func TestUpHoldsTheServiceLockForTheWholeSwap(t *testing.T) {
	w := newWorld()
	locks := &fakeLocker{w: w}
	s := w.swapper()
	s.Locks = locks
	max := 3 * time.Second
	s.LockWait = lock.Wait{Max: &max}
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Equal(t, "lock web", w.log[0], "locked before anything changes")
	assert.Equal(t, "unlock web", w.log[len(w.log)-1], "released after the old container was removed")
	assert.Equal(t, 1, locks.released)
	require.Len(t, locks.asked, 1)
	assert.Same(t, &max, locks.asked[0].Max, "the swap's own wait reaches the locker")
}

// The other dswap swapped the service to v2 while this one waited: once
// it holds the lock, this swap sees v2 running and has nothing to do.
func TestUpAfterWaitingForTheLockStartsFromWhatTheHolderLeft(t *testing.T) {
	w := newWorld()
	locks := &fakeLocker{w: w, held: func(w *world) {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.containers, "id-web")
		swapped := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
			r.Config.Labels["dswap.service"] = "web"
		})
		w.containers[swapped.ID] = swapped
		w.routes["web"] = routeFor(swapped)
	}}
	s := w.swapper()
	s.Locks = locks
	res, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.True(t, res.Noop, "v2 already runs")
	assert.Equal(t, []string{"web-2"}, res.Old)
	assert.Equal(t, "myapp:v2", res.FromImage)
	assert.Equal(t, []string{"lock web", "route web http://web-2:8080", "confirm [http://web-2:8080] err=<nil>", "unlock web"}, w.log,
		"only the route is made sure of, for the container the holder left")
}

func TestUpThatCannotTakeTheLockChangesNothing(t *testing.T) {
	w := newWorld()
	route := w.routes["web"]
	history := memHistory{}
	held := &lock.HeldError{Name: "web", Holder: lock.Holder{PID: 42, Host: "h", Command: "dswap up"}, Waited: 200 * time.Millisecond}
	s := w.swapper()
	s.Locks = &fakeLocker{w: w, refuse: held}
	s.History = history
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.ErrorIs(t, err, lock.ErrHeld, "the CLI exits 3 on it")
	assert.ErrorContains(t, err, "another dswap is working on web: dswap up (pid 42 on h")
	assert.Equal(t, []string{"lock web"}, w.log, "no container created, no route written")
	assert.Equal(t, route, w.routes["web"])
	assert.Empty(t, history, "a swap that never started is not recorded")
}

// The route keeper takes the lock without the wait of a swap: it must
// never queue behind one, and retries later instead.
func TestReconcileTakesTheLockWithTheKeepersWait(t *testing.T) {
	w := newWorld()
	locks := &fakeLocker{w: w, refuse: &lock.HeldError{Name: "web"}}
	s := w.swapper()
	s.Locks = locks
	_, err := s.Reconcile(context.Background(), "web", Overrides{})
	require.ErrorIs(t, err, lock.ErrHeld)
	require.Len(t, locks.asked, 1)
	assert.Equal(t, lock.Wait{}, locks.asked[0], "as the keeper's locker is configured")
	assert.Equal(t, []string{"lock web"}, w.log)
}
