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

// Lock takes the lock of key.
func (d Dir) Lock(ctx context.Context, key string) (func(), error) {
	path := filepath.Join(d.Path, unsafeName.ReplaceAllString(key, "_")+".lock")
	var onWait func(Holder)
	if d.OnWait != nil {
		onWait = func(h Holder) { d.OnWait(key, h) }
	}
	l, err := Acquire(ctx, path, Self(d.Command), d.Wait, onWait)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}
