package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAcquireAndRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.lock")
	l, err := Acquire(context.Background(), path, Self("dswap up"), 0, nil)
	require.NoError(t, err)

	// A second taker (another open file description, like another process)
	// is refused with the holder's name.
	_, err = Acquire(context.Background(), path, Self("dswap up"), 200*time.Millisecond, nil)
	var held *HeldError
	require.ErrorAs(t, err, &held)
	assert.ErrorIs(t, err, ErrHeld)
	assert.Equal(t, os.Getpid(), held.Holder.PID)
	assert.Contains(t, err.Error(), "another dswap is working on web: dswap up (pid")
	assert.GreaterOrEqual(t, held.Waited, 200*time.Millisecond)

	l.Release()
	l2, err := Acquire(context.Background(), path, Self("dswap sync"), 0, nil)
	require.NoError(t, err)
	l2.Release()
}

func TestWaiterGetsTheLockWhenItIsReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.lock")
	l, err := Acquire(context.Background(), path, Self("first"), 0, nil)
	require.NoError(t, err)
	var seen Holder
	done := make(chan error, 1)
	go func() {
		l2, err := Acquire(context.Background(), path, Self("second"), 10*time.Second, func(h Holder) { seen = h })
		if err == nil {
			l2.Release()
		}
		done <- err
	}()
	time.AfterFunc(300*time.Millisecond, l.Release)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("waiter never got the lock")
	}
	assert.Equal(t, "first", seen.Command)
}

// TestCrashedHolderReleases: a process killed with SIGKILL while holding
// the lock does not keep it.
func TestCrashedHolderReleases(t *testing.T) {
	if os.Getenv("DSWAP_LOCK_HOLDER") != "" {
		_, err := Acquire(context.Background(), os.Getenv("DSWAP_LOCK_HOLDER"), Self("crasher"), 0, nil)
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute) // killed long before
		return
	}
	path := filepath.Join(t.TempDir(), "web.lock")
	cmd := exec.Command(os.Args[0], "-test.run=TestCrashedHolderReleases")
	cmd.Env = append(os.Environ(), "DSWAP_LOCK_HOLDER="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 7)
	_, err = out.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "locked\n", string(buf))

	_, err = Acquire(context.Background(), path, Self("me"), 0, nil)
	require.True(t, errors.Is(err, ErrHeld), "held while the holder lives: %v", err)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err := Acquire(context.Background(), path, Self("me"), 5*time.Second, nil)
	require.NoError(t, err, "the kernel released the dead holder's lock")
	l.Release()
}

func TestAcquireHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.lock")
	l, err := Acquire(context.Background(), path, Self("first"), 0, nil)
	require.NoError(t, err)
	defer l.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err = Acquire(ctx, path, Self("second"), time.Minute, nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestLockFileIsPrivateAndNeverFollowsASymlink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".dswap")
	path := filepath.Join(dir, "web.lock")
	l, err := Acquire(context.Background(), path, Self("dswap up myapp:v2"), 0, nil)
	require.NoError(t, err)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the holder record is for dswap, not for every user")
	st, err = os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "Traefik must be able to list the directory, or it refuses every route file")
	l.Release()

	// A lock file that was created readable by all is made private.
	require.NoError(t, os.Chmod(path, 0o644))
	l, err = Acquire(context.Background(), path, Self("dswap up"), 0, nil)
	require.NoError(t, err)
	st, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	l.Release()

	// A symlink planted where a lock goes is refused, and what it points
	// to is neither truncated nor written.
	target := filepath.Join(t.TempDir(), "precious")
	require.NoError(t, os.WriteFile(target, []byte("keep me"), 0o644))
	link := filepath.Join(dir, "api.lock")
	require.NoError(t, os.Symlink(target, link))
	_, err = Acquire(context.Background(), link, Self("dswap up"), 0, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "symbolic link")
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(b))
}

// A Lock call's Wait replaces the Dir's wait and report: the sidecar has
// one Dir, and each swap waits as long as it was asked and reports in its
// own log.
func TestDirLockWaitsAsTheCallSays(t *testing.T) {
	dir := t.TempDir()
	var dirReports []string
	d := Dir{Path: dir, Wait: time.Hour, Command: "dswap serve", OnWait: func(key string, _ Holder) { dirReports = append(dirReports, key) }}
	release, err := d.Lock(context.Background(), "web", Wait{})
	require.NoError(t, err)
	defer release()

	max := 150 * time.Millisecond
	var reported time.Duration
	var holder Holder
	start := time.Now()
	_, err = d.Lock(context.Background(), "web", Wait{Max: &max, Report: func(key string, h Holder, wait time.Duration) {
		assert.Equal(t, "web", key)
		holder, reported = h, wait
	}})
	var held *HeldError
	require.ErrorAs(t, err, &held)
	assert.Less(t, time.Since(start), time.Hour/2, "the call's wait, not the Dir's")
	assert.GreaterOrEqual(t, held.Waited, max)
	assert.Equal(t, max, reported, "the report says how long the call waits")
	assert.Equal(t, "dswap serve", holder.Command)
	assert.Empty(t, dirReports, "the call's report replaces the Dir's")

	zero := time.Duration(0)
	_, err = d.Lock(context.Background(), "web", Wait{Max: &zero})
	require.ErrorIs(t, err, ErrHeld)
	assert.Equal(t, []string{"web"}, dirReports, "with no report of its own, the Dir's")
}

func TestALockThatCannotBeWrittenSaysWhatToDo(t *testing.T) {
	err := hint(fmt.Errorf("writing lock holder: %w", &os.PathError{Op: "write", Path: "/routes/.dswap/web.lock", Err: syscall.ENOSPC}), "/routes/.dswap")
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "the filesystem of the routes directory is full")
	assert.Contains(t, err.Error(), "free space on it")
	err = hint(&os.PathError{Op: "open", Path: "/routes/.dswap/web.lock", Err: syscall.EACCES}, "/routes/.dswap")
	assert.Contains(t, err.Error(), "not writable by the user dswap runs as")
}
