package swarm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/lock"
)

// The lock of a Swarm service lives in Swarm, as a label on the service
// itself (LockLabel = "HOLDER/UNIX-TIME"), so that a dswap on any manager
// sees it. It is written with the service's version index: Swarm refuses
// an update at a version that moved on, so of two dswaps that read the
// service unlocked, exactly one writes the label; the other reads again
// and finds it held. A label-only update changes no task.

// StaleLock is how old a lock whose holder cannot be checked must be
// before it is taken over. A holder on this host is checked: a lock whose
// process is gone is taken over at once.
const StaleLock = 15 * time.Minute

// lockRetry is how often a held lock is looked at again.
const lockRetry = time.Second

// lockValue is the label's value.
type lockValue struct {
	holder string
	since  time.Time
}

func parseLock(v string) (lockValue, bool) {
	i := strings.LastIndex(v, "/")
	if i < 0 {
		return lockValue{}, false
	}
	unix, err := strconv.ParseInt(v[i+1:], 10, 64)
	if err != nil {
		return lockValue{}, false
	}
	return lockValue{holder: v[:i], since: time.Unix(unix, 0)}, true
}

func (l lockValue) String() string {
	return l.holder + "/" + strconv.FormatInt(l.since.Unix(), 10)
}

// Holder names this process in a lock: host name and pid (so that a
// dswap on the same host can tell it is gone), and what it runs.
func Holder(command string) string {
	host, _ := os.Hostname()
	h := fmt.Sprintf("%s:%d", host, os.Getpid())
	if command != "" {
		h += " " + strings.ReplaceAll(command, "/", " ")
	}
	return h
}

// holderGone says whether the holder ran on this host and its process no
// longer exists.
func holderGone(holder string) bool {
	id, _, _ := strings.Cut(holder, " ")
	host, pidText, ok := strings.Cut(id, ":")
	if !ok {
		return false
	}
	me, _ := os.Hostname()
	pid, err := strconv.Atoi(pidText)
	if host != me || err != nil || pid == os.Getpid() {
		return false
	}
	_, err = os.Stat(fmt.Sprintf("/proc/%d", pid))
	return errors.Is(err, os.ErrNotExist)
}

// takeover decides about a lock found on the service: free (no label or
// one that does not parse... is taken as held by someone unknown), held,
// or stale.
func takeover(v string, now time.Time, gone func(string) bool) (stale bool, held lockValue) {
	l, ok := parseLock(v)
	if !ok {
		// Not a lock dswap wrote: treat it as held since now, so it goes
		// stale only if it stays.
		return false, lockValue{holder: v, since: now}
	}
	return now.Sub(l.since) > StaleLock || gone(l.holder), l
}

// lock takes the lock of the service name and returns the service as it
// is with the lock held, and the function that gives it back (also on
// error, with its own deadline, even after ctx ended).
func (s *Swapper) lock(ctx context.Context, name string) (*engine.SwarmService, func(), error) {
	deadline := s.Now().Add(s.LockWait)
	mine := lockValue{holder: s.Holder}
	warned := false
	for {
		svc, err := s.Cluster.SwarmService(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		if v, ok := svc.Labels[LockLabel]; ok {
			stale, held := takeover(v, s.Now(), holderGone)
			if !stale {
				if !s.Now().Before(deadline) {
					return nil, nil, fmt.Errorf("service %s is locked by %s since %s (label %s): %w; wait for that dswap to finish, or if it is gone remove the label with docker service update --label-rm %s %s",
						name, held.holder, held.since.Format(time.RFC3339), LockLabel, lock.ErrHeld, LockLabel, name)
				}
				if !warned {
					s.log.Warn("waiting for another dswap to finish with this service", "service", name, "holder", held.holder, "up to", s.LockWait)
					warned = true
				}
				if err := sleep(ctx, lockRetry); err != nil {
					return nil, nil, err
				}
				continue
			}
			s.log.Warn("taking over a stale lock", "service", name, "holder", held.holder, "since", held.since.Format(time.RFC3339))
		}
		mine.since = s.Now()
		value := mine.String()
		locked := svc.WithLabels(map[string]*string{LockLabel: &value})
		switch err := s.Cluster.UpdateSwarmService(ctx, locked); {
		case errors.Is(err, engine.ErrConflict):
			// Someone changed the service since it was read: look again.
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("locking service %s: %w", name, err)
		}
		s.heldLock = value
		release := func() { s.unlock(ctx, name, s.heldLock) }
		svc, err = s.Cluster.SwarmService(ctx, name)
		if err != nil {
			release()
			return nil, nil, err
		}
		if svc.Labels[LockLabel] != value {
			// Cannot happen with versioned updates; never run unlocked.
			return nil, nil, fmt.Errorf("locking service %s: the lock label reads %q after writing it", name, svc.Labels[LockLabel])
		}
		return svc, release, nil
	}
}

// refreshLock writes this swap's lock again with the time now, so that a
// swap that runs long (a canary's steps) is not taken for stale by
// another dswap or a keeper after StaleLock.
func (s *Swapper) refreshLock(ctx context.Context, name string) error {
	for range 10 {
		svc, err := s.Cluster.SwarmService(ctx, name)
		if err != nil {
			return err
		}
		if svc.Labels[LockLabel] != s.heldLock {
			return fmt.Errorf("service %s's lock is no longer this dswap's: label %s=%q", name, LockLabel, svc.Labels[LockLabel])
		}
		value := lockValue{holder: s.Holder, since: s.Now()}.String()
		err = s.Cluster.UpdateSwarmService(ctx, svc.WithLabels(map[string]*string{LockLabel: &value}))
		if err == nil {
			s.heldLock = value
			return nil
		}
		if !errors.Is(err, engine.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("service %s kept changing while its lock was written again", name)
}

// unlock removes the lock label if it is still this swap's.
func (s *Swapper) unlock(ctx context.Context, name, value string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for range 10 {
		svc, err := s.Cluster.SwarmService(ctx, name)
		if err != nil {
			s.log.Warn("could not release the service's lock", "service", name, "error", err)
			return
		}
		if svc.Labels[LockLabel] != value {
			return
		}
		err = s.Cluster.UpdateSwarmService(ctx, svc.WithLabels(map[string]*string{LockLabel: nil}))
		if err == nil {
			return
		}
		if !errors.Is(err, engine.ErrConflict) {
			s.log.Warn("could not release the service's lock", "service", name, "error", err, "fix", "docker service update --label-rm "+LockLabel+" "+name)
			return
		}
	}
	s.log.Warn("could not release the service's lock: it kept changing", "service", name, "fix", "docker service update --label-rm "+LockLabel+" "+name)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isNotFound(err error) bool { return errors.Is(err, engine.ErrNotFound) }
