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
func (d *Dir) Write(service string, content []byte) error {
	target := d.FileFor(service)
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
// most once per providersThrottleDuration (2 s by default), so a change soon
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

// Others returns the YAML files in the directory other than service's own
// route file, by file name. Traefik merges every file of the directory into
// one configuration and silently skips a router, service or middleware
// whose name another file already used, so dswap checks names across files.
func (d *Dir) Others(service string) (map[string][]byte, error) {
	own := filepath.Base(d.FileFor(service))
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, fmt.Errorf("listing routes directory %s: %w", d.Path, err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || name == own || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d.Path, name))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}
