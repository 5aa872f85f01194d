package traefik

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/dswap-dev/dswap/labels"
)

// stagingDir is where route files are written before they are renamed into
// the watched directory. Traefik watches only the directory itself (not its
// subdirectories), so writing here costs no reload; the rename is then one
// event and one atomic switch, and Traefik never reads a half-written file.
// Traefik does load subdirectories, but only *.yml, *.yaml and *.toml files,
// so the *.tmp files here are never read as configuration.
const stagingDir = ".dswap"

// Dir is Traefik's file-provider directory as dswap sees it.
type Dir struct {
	Path string
}

// OpenDir checks that path is a directory dswap can write route files into.
func OpenDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("no routes directory: pass --routes-dir (or DSWAP_ROUTES_DIR) with the directory Traefik's file provider watches, or run Traefik in a container with that directory mounted so dswap can find it")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("routes directory %s: %w", path, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("routes directory %s: %w; create it and point Traefik's providers.file.directory at it", abs, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("routes directory %s is a file; Traefik must watch a directory (providers.file.directory), because a single mounted file does not see renames", abs)
	}
	// 0755, not 0700: Traefik's file provider lists every subdirectory of
	// the watched directory, and one it cannot read makes it refuse the
	// whole directory ("unable to load content configuration from
	// subdirectory"), so a Traefik running as another user than dswap
	// would stop applying every route. The files inside are private
	// instead (locks and hook state 0600, opened without following links).
	if err := os.MkdirAll(filepath.Join(abs, stagingDir), 0o755); err != nil {
		return nil, fmt.Errorf("routes directory %s is not writable: %w; run dswap as a user that can write there", abs, err)
	}
	return &Dir{Path: abs}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// FileFor is the route file of a dswap service.
func (d *Dir) FileFor(service string) string {
	return filepath.Join(d.Path, "dswap-"+unsafeName.ReplaceAllString(service, "_")+".yml")
}

// StagingPath is a private directory beside the route files, on the same
// filesystem, for files Traefik must not read (staging, locks).
func (d *Dir) StagingPath() string { return filepath.Join(d.Path, stagingDir) }

// Read returns a service's route file; ok is false if there is none.
func (d *Dir) Read(service string) (content []byte, ok bool, err error) {
	content, err = os.ReadFile(d.FileFor(service))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading route file: %w", err)
	}
	return content, true, nil
}

// Write replaces a service's route file atomically: written and synced in
// the staging directory, then renamed over the old file.
//
// A file that records another dswap service as its owner is not replaced:
// keys are one to one, so this only happens when a file was copied or edited
// by hand, and overwriting it would silently take that service's routes away.
func (d *Dir) Write(service string, content []byte) error {
	return d.hint(d.write(service, content))
}

func (d *Dir) write(service string, content []byte) error {
	target := d.FileFor(service)
	if current, err := os.ReadFile(target); err == nil {
		was, wasOwned := labels.FileOwner(current)
		now, nowOwned := labels.FileOwner(content)
		if wasOwned && nowOwned && was != now {
			return fmt.Errorf("route file %s belongs to service %q, not %q; dswap left it as it was. If %q no longer exists, remove the file; otherwise rename one of the services", target, was, now, was)
		}
	}
	tmp, err := os.CreateTemp(d.StagingPath(), filepath.Base(target)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing route file for %s: %w", service, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return fmt.Errorf("writing route file for %s: %w", service, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing route file for %s: %w", service, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing route file for %s: %w", service, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing route file for %s: %w", service, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("moving route file for %s into %s: %w", service, d.Path, err)
	}
	// A write is acknowledged only once it is durable: the rename must
	// survive a crash, or the route Traefik shows could come back as the
	// old file after a reboot.
	if err := syncDir(d.Path); err != nil {
		return fmt.Errorf("route file for %s is in place, but syncing %s failed, so it may not survive a crash: %w", service, d.Path, err)
	}
	return nil
}

// Remove deletes a service's route file; a missing file is not an error.
func (d *Dir) Remove(service string) error {
	return d.hint(d.remove(service))
}

func (d *Dir) remove(service string) error {
	err := os.Remove(d.FileFor(service))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing route file for %s: %w", service, err)
	}
	if err := syncDir(d.Path); err != nil {
		return fmt.Errorf("route file for %s is removed, but syncing %s failed, so it may come back after a crash: %w", service, d.Path, err)
	}
	return nil
}

// Services lists the services that have a route file written by dswap.
func (d *Dir) Services() ([]string, error) {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, fmt.Errorf("listing routes directory %s: %w", d.Path, err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, "dswap-") || !strings.HasSuffix(name, ".yml") {
			continue
		}
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(name, "dswap-"), ".yml"))
	}
	sort.Strings(out)
	return out, nil
}

// hint adds to a failed write or removal what the user can do about it:
// the error alone ("permission denied", "no space left on device") does
// not say which user or which filesystem.
func (d *Dir) hint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w; the routes directory %s is not writable by the user dswap runs as (uid %d): make it writable by that user (e.g. chown -R %d %s), or run dswap as a user that can write there", err, d.Path, os.Getuid(), os.Getuid(), d.Path)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w; the routes directory %s is on a read-only filesystem: mount it read-write for dswap (Traefik itself may mount it read-only)", err, d.Path)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w; the filesystem of the routes directory %s is full: free space on it (df %s), then run the command again", err, d.Path, d.Path)
	}
	return err
}

// syncDir makes a rename or removal durable. A filesystem that cannot
// sync a directory (EINVAL, ENOTSUP) offers nothing more to wait for.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}

// LastChange is when the watched directory last changed: a route file
// written, renamed in or removed. Traefik applies file-provider changes at
// most once per providersThrottleDuration (Throttle by default), so a change soon
// after the last one waits for the rest of that window.
func (d *Dir) LastChange() time.Time {
	var last time.Time
	if info, err := os.Stat(d.Path); err == nil {
		last = info.ModTime()
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return last
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() && info.ModTime().After(last) {
			last = info.ModTime()
		}
	}
	return last
}

// Others returns every file Traefik's file provider reads from the
// directory other than service's own route file, by path relative to the
// directory (with forward slashes). Traefik merges them all into one
// configuration and keeps the first definition of a router, service or
// middleware name, in the order it reads them, skipping the others with
// only a log line; so dswap checks names across all of them.
//
// Traefik v3.6 reads, in os.ReadDir order (sorted by name), every file whose
// extension is .yml, .yaml or .toml in any letter case, and descends into
// every subdirectory, hidden ones included. The staging directory .dswap is
// one of them; it only ever holds *.tmp, *.lock and *.jsonl files, which
// Traefik skips.
func (d *Dir) Others(service string) (map[string][]byte, error) {
	own := d.FileFor(service)
	out := map[string][]byte{}
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("listing %s, which Traefik's file provider reads: %w", dir, err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			if p == own || !ReadsAsConfig(e.Name()) {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("reading %s, which Traefik's file provider reads: %w", p, err)
			}
			rel, err := filepath.Rel(d.Path, p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = b
		}
		return nil
	}
	if err := walk(d.Path); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadsAsConfig says whether Traefik's file provider reads a file of this
// name in its directory.
func ReadsAsConfig(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yml", ".yaml", ".toml":
		return true
	}
	return false
}
