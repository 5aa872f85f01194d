package lock

import (
	"context"
	"path/filepath"
	"regexp"
	"time"
)

// Dir hands out per-service locks kept in one directory (dswap uses a
// private directory beside the route files, which every dswap that routes
// the service can reach).
type Dir struct {
	Path    string
	Wait    time.Duration
	Command string
	// OnWait is told once who holds a lock dswap has to wait for.
	OnWait func(key string, h Holder)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Wait is how one Lock call waits while another process holds the lock;
// what it leaves unset is as the Dir says. A long-lived dswap (the
// sidecar) has one Dir and swaps that each wait and report their own way.
type Wait struct {
	// Max, when not nil, replaces the Dir's Wait.
	Max *time.Duration
	// Report, when not nil, replaces the Dir's OnWait: it is told once
	// who holds the lock and how long Lock waits for it.
	Report func(key string, h Holder, max time.Duration)
}

// Lock takes the lock of key, waiting as w says.
func (d Dir) Lock(ctx context.Context, key string, w Wait) (func(), error) {
	path := filepath.Join(d.Path, unsafeName.ReplaceAllString(key, "_")+".lock")
	wait := d.Wait
	if w.Max != nil {
		wait = *w.Max
	}
	var onWait func(Holder)
	switch {
	case w.Report != nil:
		onWait = func(h Holder) { w.Report(key, h, wait) }
	case d.OnWait != nil:
		onWait = func(h Holder) { d.OnWait(key, h) }
	}
	l, err := Acquire(ctx, path, Self(d.Command), wait, onWait)
	if err != nil {
		return nil, hint(err, d.Path)
	}
	return l.Release, nil
}
