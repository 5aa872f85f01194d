package swarm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

func TestTakeoverDecidesFromAgeAndHolder(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alive := func(string) bool { return false }
	dead := func(string) bool { return true }
	for _, tc := range []struct {
		name  string
		value string
		gone  func(string) bool
		stale bool
	}{
		{"fresh lock of a live holder", fmt.Sprintf("host:1 dswap up/%d", now.Add(-time.Minute).Unix()), alive, false},
		{"old lock", fmt.Sprintf("host:1 dswap up/%d", now.Add(-StaleLock-time.Second).Unix()), alive, true},
		{"holder gone on this host", fmt.Sprintf("host:1 dswap up/%d", now.Unix()), dead, true},
		{"a value dswap did not write", "someone", dead, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stale, _ := takeover(tc.value, now, tc.gone)
			assert.Equal(t, tc.stale, stale)
		})
	}
}

func TestAnotherDswapWinningTheRaceHoldsTheLock(t *testing.T) {
	w := newWorld(t)
	// Between our read and our write, another dswap writes its lock: our
	// write at the old version is refused.
	w.cluster.conflicts = 1
	w.cluster.onConflict = func(f *fakeCluster) {
		s := f.byName("web")
		held := lockValue{holder: "other-manager:42 dswap up", since: time.Now()}.String()
		locked := s.WithLabels(map[string]*string{LockLabel: &held})
		locked.Version++
		f.services[s.ID] = locked
	}
	s := w.swapper()
	s.LockWait = 50 * time.Millisecond
	start := time.Now()
	_, err := s.Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.ErrorIs(t, err, lock.ErrHeld)
	assert.Contains(t, err.Error(), "other-manager:42")
	assert.Less(t, time.Since(start), 5*time.Second)
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", svc.Image, "nothing changed")
	assert.Contains(t, svc.Labels[LockLabel], "other-manager:42", "the winner's lock is left alone")
}

func TestAConflictWithoutALockIsRetried(t *testing.T) {
	w := newWorld(t)
	// Someone updated the service (not dswap): the version moved on.
	w.cluster.conflicts = 1
	w.cluster.onConflict = func(f *fakeCluster) { f.byName("web").Version++ }
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
}

func TestAStaleLockIsTakenOver(t *testing.T) {
	w := newWorld(t)
	old := lockValue{holder: "gone-manager:7 dswap up", since: time.Now().Add(-StaleLock - time.Minute)}.String()
	s := w.cluster.byName("web")
	w.cluster.services[s.ID] = s.WithLabels(map[string]*string{LockLabel: &old})
	_, err := w.swapper().Up(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	svc, err := w.cluster.SwarmService(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", svc.Image)
	assert.NotContains(t, svc.Labels, LockLabel)
}
