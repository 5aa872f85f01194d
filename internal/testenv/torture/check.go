package torture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/server"
)

// settleTimeout bounds how long the checks wait for Traefik's view and the
// answers to agree with Docker; after a confirmed sync they agree at once.
const settleTimeout = 5 * time.Second

// probes is how many requests in a row must be answered by the routed
// version.
const probes = 10

// state is what the checks found serving.
type state struct {
	Container string // the one running container, routed
	Image     string
	Version   string
	// Addrs are the names a route may give it: its name and its IPs (with
	// --address ip, or where its name is taken, the route names an IP).
	Addrs []string
}

// check verifies the invariants after a swap and its recovery, against
// Docker, the routes directory and Traefik's API. It returns the serving
// state and one line per violation.
func (r *runner) check(ctx context.Context) (state, []string) {
	var st state
	var v []string
	cs, err := r.lab.ContainersOf(ctx, "dswap.service="+r.service)
	if err != nil {
		return st, []string{err.Error()}
	}
	running := map[string]lab.Container{}
	ips := map[string]string{} // IP -> container name
	for _, c := range cs {
		if c.State != "running" {
			v = append(v, fmt.Sprintf("container %s (%s) is left behind in state %s (%s)", c.Name, c.Image, c.State, c.Status))
			continue
		}
		running[c.Name] = c
		if in, err := r.lab.Docker.ContainerInspect(ctx, c.ID); err == nil && in.NetworkSettings != nil {
			for _, n := range in.NetworkSettings.Networks {
				if n != nil && n.IPAddress != "" {
					ips[n.IPAddress] = c.Name
				}
			}
		}
	}
	if len(running) != 1 {
		v = append(v, fmt.Sprintf("%d containers of the service run, want exactly 1: %s", len(running), strings.Join(sortedKeys(running), ", ")))
	}
	for name, c := range running {
		st = state{Container: name, Image: c.Image, Version: r.versionOf(c.Image), Addrs: []string{name}}
		for ip, owner := range ips {
			if owner == name {
				st.Addrs = append(st.Addrs, ip)
			}
		}
	}

	// The route file names only running containers.
	file := filepath.Join(r.lab.RoutesDir, r.routeFile())
	var fileHosts []string
	if b, err := os.ReadFile(file); err != nil {
		v = append(v, fmt.Sprintf("reading route file: %v", err))
	} else if rf, err := labels.ReadRouteFile(b); err != nil {
		v = append(v, fmt.Sprintf("route file %s: %v", file, err))
	} else {
		fileHosts = rf.Hosts()
		sort.Strings(fileHosts)
		for _, h := range fileHosts {
			if _, ok := running[h]; !ok && ips[h] == "" {
				v = append(v, fmt.Sprintf("route file names %s, which is no running container of the service", h))
			}
		}
		if len(fileHosts) != 1 {
			v = append(v, fmt.Sprintf("route file names %d servers (%s), want exactly 1", len(fileHosts), strings.Join(fileHosts, ", ")))
		}
	}

	// Traefik's view: its servers are exactly the route file's, and
	// answers come from the routed version.
	var traefikHosts []string
	deadline := time.Now().Add(settleTimeout)
	for {
		traefikHosts, err = r.traefikServers(ctx)
		if err == nil && equal(traefikHosts, fileHosts) || time.Now().After(deadline) {
			break
		}
		if werr := pause(ctx, 100*time.Millisecond); werr != nil {
			return st, append(v, werr.Error())
		}
	}
	switch {
	case err != nil:
		v = append(v, fmt.Sprintf("Traefik's API: %v", err))
	case !equal(traefikHosts, fileHosts):
		v = append(v, fmt.Sprintf("Traefik routes to %v, the route file names %v (after %s)", traefikHosts, fileHosts, settleTimeout))
	}
	if st.Version != "" {
		if err := r.answeredBy(ctx, st.Version); err != nil {
			v = append(v, err.Error())
		}
	}

	// dswap's own account must agree with what runs.
	v = append(v, r.checkStatus(ctx, st)...)
	v = append(v, r.checkHistory(ctx, st)...)
	v = append(v, r.checkRoutesDir()...)
	return st, v
}

// traefikServers returns the hosts of the service's servers in Traefik's
// running configuration (/api/rawdata), sorted.
func (r *runner) traefikServers(ctx context.Context) ([]string, error) {
	return r.traefikServersOf(ctx, r.service)
}

// traefikServersOf is traefikServers of any service of the lab.
func (r *runner) traefikServersOf(ctx context.Context, service string) ([]string, error) {
	var raw struct {
		Services map[string]struct {
			LoadBalancer *struct {
				Servers []struct {
					URL string `json:"url"`
				} `json:"servers"`
			} `json:"loadBalancer"`
		} `json:"services"`
	}
	if err := getJSON(ctx, r.lab.APIURL+"/api/rawdata", &raw); err != nil {
		return nil, err
	}
	svc, ok := raw.Services[service+"@file"]
	if !ok {
		return nil, fmt.Errorf("no service %s@file in /api/rawdata", service)
	}
	if svc.LoadBalancer == nil {
		return nil, fmt.Errorf("service %s@file has no loadBalancer", service)
	}
	var hosts []string
	for _, s := range svc.LoadBalancer.Servers {
		u, err := url.Parse(s.URL)
		if err != nil {
			return nil, fmt.Errorf("server URL %q: %w", s.URL, err)
		}
		hosts = append(hosts, u.Hostname())
	}
	sort.Strings(hosts)
	return hosts, nil
}

// traefikView is Traefik's raw configuration of the service, for evidence.
func (r *runner) traefikView(ctx context.Context) string {
	var raw struct {
		Services map[string]json.RawMessage `json:"services"`
		Routers  map[string]json.RawMessage `json:"routers"`
	}
	if err := getJSON(ctx, r.lab.APIURL+"/api/rawdata", &raw); err != nil {
		return "(" + err.Error() + ")"
	}
	return fmt.Sprintf("router %s@file: %s\nservice %s@file: %s", r.service, raw.Routers[r.service+"@file"], r.service, raw.Services[r.service+"@file"])
}

// answeredBy checks that probes requests in a row through Traefik are
// answered by version, waiting up to settleTimeout for the first.
func (r *runner) answeredBy(ctx context.Context, version string) error {
	deadline := time.Now().Add(settleTimeout)
	good := 0
	last := ""
	for good < probes {
		got, err := lab.ProbeVersion(ctx, r.webURL()+"/", r.host)
		switch {
		case err == nil && got == version:
			good++
			continue
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("answered by %q", got)
		}
		good = 0
		if time.Now().After(deadline) {
			return fmt.Errorf("requests through Traefik are not answered by the routed version %s: last %s", version, last)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// checkStatus compares `dswap status` with what runs.
func (r *runner) checkStatus(ctx context.Context, st state) []string {
	p, err := r.dswap.run(ctx, "status", r.service)
	if err != nil {
		return []string{fmt.Sprintf("dswap status: %v", err)}
	}
	var all []server.ServiceStatus
	if err := json.Unmarshal([]byte(lastLine(p.stdout.String())), &all); err != nil {
		return []string{fmt.Sprintf("dswap status: reading its JSON (exit %d): %v", p.code, err)}
	}
	for _, s := range all {
		if s.Service != r.service {
			continue
		}
		var v []string
		if len(s.Routed) != 1 || !contains(st.Addrs, s.Routed[0]) {
			v = append(v, fmt.Sprintf("dswap status says %v is routed; Docker and Traefik say %s", s.Routed, st.Container))
		}
		if s.Interrupted != "" {
			v = append(v, "dswap status still shows an interrupted swap: "+s.Interrupted)
		}
		return v
	}
	return []string{"dswap status does not list the service"}
}

// checkHistory compares the last history entry with what runs: a swap
// that ended on the new version names it as to_image, a failed or rolled
// back one names the serving version as from_image.
func (r *runner) checkHistory(ctx context.Context, st state) []string {
	p, err := r.dswap.run(ctx, "history", r.service)
	if err != nil {
		return []string{fmt.Sprintf("dswap history: %v", err)}
	}
	var entries []history.Entry
	if err := json.Unmarshal([]byte(lastLine(p.stdout.String())), &entries); err != nil {
		return []string{fmt.Sprintf("dswap history: reading its JSON (exit %d): %v", p.code, err)}
	}
	if len(entries) == 0 {
		if st.Image == r.images[0].Tag {
			return nil // every swap so far failed before it changed anything
		}
		return []string{fmt.Sprintf("dswap history is empty, yet %s serves, not the first image", st.Image)}
	}
	last := entries[len(entries)-1]
	names := last.ToImage
	if last.Result == "failed" || last.Result == "rolled-back" {
		names = last.FromImage
	}
	if names != st.Image {
		return []string{fmt.Sprintf("the last history entry (%s, %s -> %s, %s) names %s as serving; %s serves", last.ID, last.FromImage, last.ToImage, last.Result, names, st.Image)}
	}
	return nil
}

// checkRoutesDir looks for what a swap must not leave in the routes
// directory: temporary files, files of no service, and held locks.
func (r *runner) checkRoutesDir() []string {
	var v []string
	err := filepath.WalkDir(r.lab.RoutesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.lab.RoutesDir, path)
		switch {
		case rel == "." || rel == ".dswap" && d.IsDir():
			return nil
		case rel == r.routeFile() || r.otherRouteFile(rel):
			return nil
		case filepath.Dir(rel) == ".dswap" && strings.HasPrefix(d.Name(), "history-") && strings.HasSuffix(d.Name(), ".jsonl"):
			return nil
		case rel == filepath.Join(".dswap", "route-keeper.flock") && r.keeper != nil:
			return nil // the keeper's, held while it runs
		case filepath.Dir(rel) == ".dswap" && strings.HasSuffix(d.Name(), ".lock"):
			if held, err := lockHeld(path); err != nil || held {
				v = append(v, fmt.Sprintf("lock %s is still held after every dswap exited (%v)", rel, err))
			}
			return nil
		}
		v = append(v, fmt.Sprintf("%s is left in the routes directory", rel))
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		v = append(v, fmt.Sprintf("reading the routes directory: %v", err))
	}
	return v
}

// lockHeld reports whether some process holds the flock of path.
func lockHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// probeClient sends the checks' single requests: no proxy (the target is
// on 127.0.0.1), no connection reuse, a short timeout.
var probeClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// getJSON reads a JSON document from Traefik's API.
func getJSON(ctx context.Context, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(into); err != nil {
		return fmt.Errorf("GET %s: decoding: %w", u, err)
	}
	return nil
}

// pause waits d unless ctx ends first; it spaces polls, never stands in
// for a wait on a state.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
