package traefik

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Expectation is what Traefik must show once it has applied a route file.
type Expectation struct {
	// Servers maps each service name (without @file) to its server URLs.
	Servers map[string][]string
	// Routers are router names (without @file) that must exist.
	Routers []string
	// Absent are service names (without @file) that must no longer exist.
	Absent []string
	// Marker is the route file's generation marker middleware (without
	// @file), and Generation the value this write gave it. With a marker,
	// a write counts as applied only when the API shows this generation:
	// Traefik's API shows the configuration it runs, and a change still
	// waiting in its reload throttle (an earlier write of the directory)
	// may yet replace it; the servers alone cannot tell. Generation 0
	// means the file was removed: the marker must be gone.
	Marker     string
	Generation int64
}

// pollInterval is how often the API is read while waiting. Reading the
// runtime configuration is a local call of a few milliseconds, and a flip
// is usually applied within 0.1 to 0.3 s, so a short interval matters.
const pollInterval = 20 * time.Millisecond

// ConfirmedBy says that the API confirms a change.
func (a *API) ConfirmedBy() string { return "Traefik API" }

// WaitApplied reads Traefik's runtime configuration until it matches exp, a
// router of exp is disabled, or timeout passes. It returns how long it took.
func (a *API) WaitApplied(ctx context.Context, exp Expectation, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var lastMismatch string
	var seen bool // the API has shown this write's generation
	for {
		rt, err := a.Runtime(ctx)
		if err == nil {
			mismatch, ours, fatal := exp.check(rt)
			if seen && !ours && fatal == nil {
				fatal = fmt.Errorf("Traefik showed this write (generation %d) and then no longer: %s; something else changed the routes directory", exp.Generation, mismatch)
			}
			seen = seen || (ours && exp.Generation != 0)
			if fatal != nil {
				return time.Since(start), fatal
			}
			if mismatch == "" {
				return time.Since(start), nil
			}
			lastMismatch = mismatch
		} else if ctx.Err() == nil {
			lastMismatch = err.Error()
		}
		select {
		case <-ctx.Done():
			if lastMismatch == "" {
				lastMismatch = ctx.Err().Error()
			}
			if parent.Err() != nil {
				// Interrupted (Ctrl-C, a deadline of the caller's): the
				// timeout did not run out, and saying so would mislead.
				return time.Since(start), fmt.Errorf("stopped waiting for Traefik to apply the route after %s (%w): %s", time.Since(start).Round(time.Millisecond), parent.Err(), lastMismatch)
			}
			return time.Since(start), fmt.Errorf("Traefik did not apply the route within %s: %s. %s", timeout, lastMismatch, RejectedHint)
		case <-ticker.C:
		}
	}
}

// RejectedHint says where Traefik tells why it did not apply a change of
// its file-provider directory. Both v3.6 and v2.11 log a watched change
// they cannot load as "Error occurred during watcher callback" (and at
// start "Error while building configuration (for the first time)"),
// naming the file and the field.
const RejectedHint = "Traefik ignores a whole file-provider update when any file in the directory fails to load; look in Traefik's log for \"Error occurred during watcher callback\", which names the file and why"

// check returns a description of the first difference between rt and exp,
// or a fatal error when Traefik has the route but refuses it. ours says
// whether Traefik runs the configuration built from this write (always
// true without a marker, when nothing tells the writes apart).
func (exp Expectation) check(rt *Runtime) (mismatch string, ours bool, fatal error) {
	ours = true
	if exp.Marker != "" {
		if mismatch, ours, fatal = exp.checkGeneration(rt); mismatch != "" || fatal != nil {
			return mismatch, ours, fatal
		}
	}
	mismatch, fatal = exp.checkRoutes(rt)
	if mismatch != "" && exp.Marker != "" && exp.Generation != 0 {
		// The configuration comes from this very write, so what it shows
		// will not change by waiting.
		return "", ours, fmt.Errorf("Traefik applied this write (generation %d) but %s: another file in the routes directory may define the same name, and Traefik keeps only one definition", exp.Generation, mismatch)
	}
	return mismatch, ours, fatal
}

// checkRoutes compares the servers, routers and absent services.
func (exp Expectation) checkRoutes(rt *Runtime) (mismatch string, fatal error) {
	for _, name := range sortedKeys(exp.Servers) {
		svc, ok := rt.Services[name+"@file"]
		if !ok {
			return fmt.Sprintf("service %s@file does not exist yet", name), nil
		}
		got := svc.ServerURLs()
		if !sameSet(got, exp.Servers[name]) {
			return fmt.Sprintf("service %s@file has servers %v, want %v", name, got, exp.Servers[name]), nil
		}
	}
	for _, name := range exp.Routers {
		r, ok := rt.Routers[name+"@file"]
		if !ok {
			return fmt.Sprintf("router %s@file does not exist yet", name), nil
		}
		if r.Status == "disabled" {
			return "", fmt.Errorf("Traefik disabled router %s@file: %s", name, strings.Join(r.Errors, "; "))
		}
	}
	for _, name := range exp.Absent {
		if _, ok := rt.Services[name+"@file"]; ok {
			return fmt.Sprintf("service %s@file still exists", name), nil
		}
	}
	return "", nil
}

// Conflicts lists routers and services of other providers that use the
// names dswap routes: if Traefik's docker provider also routes a service,
// requests keep reaching containers dswap has taken out of the route.
func (rt *Runtime) Conflicts(routers, services []string) []string {
	var out []string
	for full := range rt.Routers {
		name, provider, _ := strings.Cut(full, "@")
		if provider != "file" && provider != "internal" && slices.Contains(routers, name) {
			out = append(out, "router "+full)
		}
	}
	for full := range rt.Services {
		name, provider, _ := strings.Cut(full, "@")
		if provider != "file" && provider != "internal" && slices.Contains(services, name) {
			out = append(out, "service "+full)
		}
	}
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
