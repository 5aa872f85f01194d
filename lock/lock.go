// Package lock serialises swaps of one service across processes: dswap on
// the host, dswap in a container, or both, as long as they share the
// routes directory. It uses flock(2) on a file in that directory, so the
// kernel releases the lock when its holder exits for any reason, SIGKILL
// included: a crashed holder never keeps it.
package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Holder describes who holds a lock, for the message a waiter shows. It
// names the command and its image, never the full command line, whose
// flags may hold secrets (--registry-auth, --build-arg).
type Holder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "an unknown process"
	}
	return fmt.Sprintf("%s (pid %d on %s, since %s, %s ago)", h.Command, h.PID, h.Host, h.Since.Format(time.RFC3339), time.Since(h.Since).Round(time.Second))
}

// Self describes this process as a holder.
func Self(command string) Holder {
	host, _ := os.Hostname()
	return Holder{Host: host, PID: os.Getpid(), Since: time.Now().UTC().Truncate(time.Second), Command: command}
}

// ErrHeld is returned (wrapped in a *HeldError) when the lock stayed taken
// for the whole wait.
var ErrHeld = errors.New("lock held")

// HeldError names the holder of a lock that could not be taken.
type HeldError struct {
	Name   string
	Holder Holder
	Waited time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another dswap is working on %s: %s; waited %s (raise --lock-wait to wait longer)", e.Name, e.Holder, e.Waited.Round(time.Millisecond))
}

func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// pollInterval is how often a waiter tries again. flock has no way to wait
// with a deadline, and the kernel sends no event when a lock is released,
// so a waiter tries the non-blocking form on a short interval.
const pollInterval = 100 * time.Millisecond

// Acquire takes the lock file at path, waiting up to wait (0: try once).
// While it waits it reports the holder once through onWait, if not nil.
func Acquire(ctx context.Context, path string, self Holder, wait time.Duration, onWait func(Holder)) (*Lock, error) {
	// The files are dswap's alone: a holder record says who works on which
	// service, which is nobody else's business. The directory stays
	// listable (0755) because it lies inside Traefik's routes directory,
	// and Traefik refuses the whole directory when a subdirectory cannot
	// be read (see traefik.OpenDir).
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating lock directory: %w", err)
	}
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), ".lock")
	start := time.Now()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	reported := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l := &Lock{f: f}
			if err := l.record(self); err != nil {
				l.Release()
				return nil, err
			}
			return l, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		holder := readHolder(f)
		if !reported && onWait != nil {
			onWait(holder)
			reported = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock on %s held by %s: %w", name, holder, ctx.Err())
		case <-deadline.C:
			f.Close()
			return nil, &HeldError{Name: name, Holder: holder, Waited: time.Since(start)}
		case <-ticker.C:
		}
	}
}

// record writes who holds the lock into the lock file, for waiters.
func (l *Lock) record(h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("writing lock holder: %w", err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("writing lock holder: %w", err)
	}
	return nil
}

// Release gives the lock up. The file stays, so that the next holder
// locks the same inode as anyone already waiting on it.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// openLockFile opens (or creates) a lock file without following a
// symlink: whoever can write the directory must not make dswap truncate
// and write a file elsewhere. A file left readable by an older dswap is
// made private.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("lock file %s is a symbolic link; dswap does not follow it: remove it (nothing was locked or written)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("lock file %s is not a regular file (%s); remove it (nothing was locked or written)", path, st.Mode().Type())
	}
	if st.Mode().Perm() != 0o600 {
		_ = f.Chmod(0o600)
	}
	return f, nil
}

// readHolder reads the holder record through the open lock file, so that
// it is the locked inode's record and never another file's.
func readHolder(f *os.File) Holder {
	var h Holder
	b, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, 1<<16), 1<<16))
	if err == nil {
		_ = json.Unmarshal(b, &h)
	}
	return h
}
