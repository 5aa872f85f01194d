package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

func one(status Status, msg, fix string) []Finding {
	return []Finding{{Status: status, Message: msg, Fix: fix}}
}

func skip(why string) []Finding { return one(Skip, why, "") }

// onHost says Traefik runs on the host (dswap was given its directory and
// API, and no Traefik container is in the way).
func (h *Host) onHost() bool {
	return h.Traefik == nil && h.GivenRoutesDir != "" && h.GivenAPI != ""
}

func checkTraefik(_ context.Context, h *Host) []Finding {
	switch {
	case len(h.Candidates) > 1:
		var names []string
		for _, c := range h.Candidates {
			names = append(names, c.Name)
		}
		return one(Fail, fmt.Sprintf("several containers look like Traefik: %s", strings.Join(names, ", ")),
			"name the one dswap routes through: --traefik-container NAME (DSWAP_TRAEFIK_CONTAINER), or label the others dswap.traefik=false")
	case h.onHost():
		return one(OK, "no Traefik container: using the Traefik on this host given by --routes-dir and --traefik-api", "")
	case h.Traefik == nil:
		return one(Fail, "no running Traefik container found (an image or command named traefik, or the label dswap.traefik=true)",
			"start Traefik (see README, Quick start), or name its container with --traefik-container; for a Traefik on the host pass --routes-dir and --traefik-api")
	}
	c := h.Traefik.Container
	return one(OK, fmt.Sprintf("Traefik container %s (%s)", c.Name, c.Image), "")
}

func checkFileProvider(_ context.Context, h *Host) []Finding {
	if h.Traefik == nil {
		if h.onHost() {
			return one(OK, "routes directory given: "+h.GivenRoutesDir, "")
		}
		return skip("no Traefik container")
	}
	t := h.Traefik
	switch {
	case t.FileDir == "" && t.FileName != "":
		return one(Fail, fmt.Sprintf("Traefik's file provider watches a single file (providers.file.filename=%s): dswap replaces route files by renaming them into a directory, and a mounted single file never sees a rename, so Traefik would keep the old route", t.FileName),
			"watch a directory instead: --providers.file.directory=/routes --providers.file.watch=true, and mount a host directory there (volumes: [\"./routes:/routes\"])")
	case t.FileDir == "":
		return one(Fail, "Traefik has no file provider, so it cannot read the routes dswap writes",
			"add --providers.file.directory=/routes --providers.file.watch=true to Traefik's command and mount a host directory there (volumes: [\"./routes:/routes\"])")
	case h.TraefikErr != nil:
		return one(Fail, h.TraefikErr.Error(), fmt.Sprintf("mount a host directory at %s (volumes: [\"./routes:%s\"])", t.FileDir, t.FileDir))
	}
	return one(OK, fmt.Sprintf("Traefik watches the directory %s, mounted from %s on this host", t.FileDir, t.HostDir), "")
}

// clockSkew is how far a fresh file's time may be from this host's clock:
// beyond it the routes directory is on a filesystem with another clock
// (NFS, a VM share), and the times dswap reads there mislead.
const clockSkew = 2 * time.Second

func checkRoutesDir(_ context.Context, h *Host) []Finding {
	if h.RoutesDir == "" {
		return skip("no routes directory known")
	}
	dir := h.RoutesDir
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return one(Fail, fmt.Sprintf("the routes directory %s does not exist on this host", dir), fmt.Sprintf("mkdir -p %s, or run dswap on the host that mounts it into Traefik", dir))
	case err != nil:
		return one(Fail, fmt.Sprintf("cannot read the routes directory %s: %v", dir, err), "run dswap as a user that can read and write it")
	case !info.IsDir():
		return one(Fail, fmt.Sprintf("the routes directory %s is a file", dir), "point Traefik's providers.file.directory at a directory, and mount a directory there")
	}
	if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
		return one(Fail, fmt.Sprintf("this dswap (uid %d) cannot write the routes directory %s: %v", os.Getuid(), dir, err),
			fmt.Sprintf("run dswap as the directory's owner or root, or give it write access: sudo chown %d %s", os.Getuid(), dir))
	}
	var out []Finding
	// The staging directory is where dswap writes before renaming; a file
	// there does not wake Traefik's watcher.
	staging := filepath.Join(dir, ".dswap")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return one(Fail, fmt.Sprintf("cannot create %s: %v", staging, err), "give this dswap write access to the routes directory")
	}
	f, err := os.CreateTemp(staging, "doctor-*.tmp")
	if err != nil {
		return one(Fail, fmt.Sprintf("cannot write in %s: %v", staging, err), "give this dswap write access to the routes directory")
	}
	name := f.Name()
	_ = f.Close()
	st, err := os.Stat(name)
	_ = os.Remove(name)
	if err == nil && h.Now != nil {
		if skew := st.ModTime().Sub(h.Now()); skew > clockSkew || skew < -clockSkew {
			out = append(out, Finding{Status: Warn, Message: fmt.Sprintf("a file just written in %s is dated %s from this host's clock: the directory is on a filesystem with another clock", dir, skew.Round(time.Second)),
				Fix: "keep the routes directory on a local filesystem of this host, or synchronise the clocks (NTP)"})
		}
	}
	// Traefik lists every file and subdirectory of the directory; one it
	// cannot read (it may run as another user) blocks the whole update.
	entries, _ := os.ReadDir(dir)
	var unreadable []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		need := fs.FileMode(0o004)
		if info.IsDir() {
			need = 0o005
		}
		if info.Mode().Perm()&need != need {
			unreadable = append(unreadable, e.Name())
		}
	}
	if len(unreadable) > 0 {
		out = append(out, Finding{Status: Warn, Message: fmt.Sprintf("in %s, %s cannot be read by other users; a Traefik running as another user refuses the whole directory", dir, strings.Join(unreadable, ", ")),
			Fix: fmt.Sprintf("chmod o+rX %s/*", dir)})
	}
	if len(out) == 0 {
		out = one(OK, fmt.Sprintf("dswap can write %s; its clock matches this host's; Traefik can read every entry", dir), "")
	}
	return out
}

func checkAPI(ctx context.Context, h *Host) []Finding {
	switch {
	case h.APIURL == "none":
		return one(Warn, "no Traefik API (--traefik-api none): route changes are not confirmed; dswap waits Traefik's reload throttle and hopes", "enable the API: --api.insecure=true with port 8080 published on 127.0.0.1 (\"127.0.0.1:8080:8080\")")
	case h.APIURL == "" && h.Traefik == nil && !h.onHost():
		return skip("no Traefik")
	case h.APIURL == "":
		return one(Fail, "Traefik's API is not enabled on its traefik entrypoint, so dswap cannot confirm route changes",
			"add --api.insecure=true to Traefik's command and publish it on this host only: ports: [\"127.0.0.1:8080:8080\"]; or pass --traefik-api URL")
	case h.API == nil:
		return one(Fail, fmt.Sprintf("Traefik's API address %s is not usable", h.APIURL), "pass --traefik-api http://HOST:PORT")
	}
	v, err := h.API.Version(ctx)
	if err != nil {
		return one(Fail, fmt.Sprintf("Traefik's API at %s (the address dswap will use) does not answer: %v", h.APIURL, err),
			"publish Traefik's port 8080 on this host (ports: [\"127.0.0.1:8080:8080\"]) or pass the address that reaches it with --traefik-api")
	}
	tv, err := labels.ParseTraefikVersion(v)
	if err != nil {
		return one(Warn, fmt.Sprintf("Traefik's API at %s answers, but reports version %q, not a release", h.APIURL, v),
			"pass the release it is built from with --traefik-version (DSWAP_TRAEFIK_VERSION), so labels are checked against it")
	}
	if tv.Major < 2 || tv.Major > 3 || (tv.Major == 2 && tv.Minor < 11) {
		return one(Fail, fmt.Sprintf("Traefik %s at %s is not supported (dswap supports v2.11 and v3.x)", v, h.APIURL), "upgrade Traefik to v3.x (or at least v2.11)")
	}
	return one(OK, fmt.Sprintf("Traefik's API answers at %s (the address dswap will use): Traefik %s, supported", h.APIURL, v), "")
}

func checkThrottle(_ context.Context, h *Host) []Finding {
	if h.Traefik == nil {
		return skip("no Traefik container to read it from")
	}
	if h.Traefik.Throttle == "" {
		return one(OK, "reload throttle: Traefik's default (providers.providersThrottleDuration=2s)", "")
	}
	d, err := parseTraefikDuration(h.Traefik.Throttle)
	if err != nil {
		return one(Warn, fmt.Sprintf("reload throttle %q cannot be read: %v", h.Traefik.Throttle, err), "write it as a Go duration, e.g. --providers.providersThrottleDuration=2s")
	}
	switch {
	case d >= 15*time.Second:
		return one(Fail, fmt.Sprintf("reload throttle %s: a route change may wait that long, past dswap's flip timeout (15s), so swaps fail unconfirmed", d),
			"lower it: --providers.providersThrottleDuration=2s (or raise --flip-timeout above it)")
	case d > 2*time.Second:
		return one(Warn, fmt.Sprintf("reload throttle %s: every route change may wait that long to apply", d), "the default, 2s, is enough: drop --providers.providersThrottleDuration")
	}
	return one(OK, fmt.Sprintf("reload throttle %s", d), "")
}

// parseTraefikDuration reads a duration as Traefik does: a Go duration, or
// a bare number of seconds.
func parseTraefikDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err != nil || fmt.Sprint(secs) != s {
		return 0, fmt.Errorf("not a duration")
	}
	return time.Duration(secs) * time.Second, nil
}

func checkMetrics(_ context.Context, h *Host) []Finding {
	const fix = "add --metrics.prometheus=true --metrics.prometheus.addServicesLabels=true to Traefik's command"
	switch {
	case h.Traefik == nil:
		return skip("no Traefik container to read it from")
	case !h.Traefik.Metrics:
		return one(Warn, "Traefik's Prometheus metrics are off: canary analysis (error rates per service) cannot work", fix)
	case !h.Traefik.MetricsServiceLabels:
		return one(Warn, "Traefik's Prometheus metrics are on without service labels: canary analysis needs requests per service", fix)
	}
	return one(OK, "Prometheus metrics on, with service labels", "")
}

// containerHosts are the addresses a server URL of Traefik's can name a
// container by.
func containerHosts(c *engine.Container) []string {
	hosts := []string{c.Name}
	for _, ep := range c.Networks {
		if ep.IPAddress != "" {
			hosts = append(hosts, ep.IPAddress)
		}
		hosts = append(hosts, ep.Aliases...)
	}
	return hosts
}

func checkDockerProvider(ctx context.Context, h *Host) []Finding {
	if len(h.Services) == 0 {
		return skip("no dswap-managed services")
	}
	const fix = "label the service traefik.enable=false (dswap routes it), or start Traefik with --providers.docker.exposedByDefault=false"
	var rt *traefik.Runtime
	if h.API != nil {
		rt, _ = h.API.Runtime(ctx)
	}
	var out []Finding
	for _, c := range h.Services {
		if rt != nil {
			var by []string
			for name, svc := range rt.Services {
				_, provider, _ := strings.Cut(name, "@")
				if provider == "file" || provider == "internal" {
					continue
				}
				for _, u := range svc.ServerURLs() {
					parsed, err := url.Parse(u)
					if err == nil && slices.Contains(containerHosts(c), parsed.Hostname()) {
						by = append(by, name)
						break
					}
				}
			}
			if len(by) > 0 {
				slices.Sort(by)
				out = append(out, Finding{Subject: serviceName(c), Status: Fail,
					Message: fmt.Sprintf("%s is also routed by Traefik's docker provider (%s): during a swap requests keep reaching the container dswap takes out of the route", serviceName(c), strings.Join(by, ", ")), Fix: fix})
			}
			continue
		}
		// Without the API, the static configuration says whether it would be.
		if h.Traefik != nil && h.Traefik.DockerProvider && h.Traefik.ExposedByDefault != "false" && c.Labels["traefik.enable"] != "false" {
			out = append(out, Finding{Subject: serviceName(c), Status: Warn,
				Message: fmt.Sprintf("%s may also be routed by Traefik's docker provider (it exposes containers by default and the service is not labelled traefik.enable=false)", serviceName(c)), Fix: fix})
		}
	}
	if len(out) == 0 {
		return one(OK, "no dswap-managed service is also routed by Traefik's docker provider", "")
	}
	return out
}

func checkHealthcheck(_ context.Context, h *Host) []Finding {
	if len(h.Services) == 0 {
		return skip("no dswap-managed services")
	}
	var out []Finding
	for _, c := range h.Services {
		if c.Healthcheck != nil || c.Labels["dswap.health-cmd"] != "" || c.Labels["dswap.no-healthcheck"] == "true" {
			continue
		}
		out = append(out, Finding{Subject: serviceName(c), Status: Fail,
			Message: fmt.Sprintf("%s has no HEALTHCHECK: dswap cannot tell when a new version is ready and refuses to guess", serviceName(c)),
			Fix:     "add a HEALTHCHECK to the image (or healthcheck: in compose), or label the service dswap.health-cmd=\"CMD\" (run in the container), or dswap.no-healthcheck=true to accept \"running\" as ready"})
	}
	if len(out) == 0 {
		return one(OK, "every dswap-managed service has a health check", "")
	}
	return out
}

func checkNetwork(_ context.Context, h *Host) []Finding {
	if len(h.Services) == 0 || h.Traefik == nil {
		return skip("no dswap-managed services or no Traefik container")
	}
	var traefikNets []string
	for n := range h.Traefik.Container.Networks {
		traefikNets = append(traefikNets, n)
	}
	if slices.Contains(traefikNets, "host") {
		return one(OK, "Traefik uses the host's network: it reaches containers by IP", "")
	}
	slices.Sort(traefikNets)
	var out []Finding
	for _, c := range h.Services {
		shared := false
		for n := range c.Networks {
			shared = shared || slices.Contains(traefikNets, n)
		}
		if shared {
			continue
		}
		net := "NETWORK"
		if len(traefikNets) > 0 {
			net = traefikNets[0]
		}
		out = append(out, Finding{Subject: serviceName(c), Status: Fail,
			Message: fmt.Sprintf("%s shares no network with Traefik (Traefik is on %s): Traefik cannot reach it", serviceName(c), strings.Join(traefikNets, ", ")),
			Fix:     fmt.Sprintf("docker network connect %s %s; in compose, put the service on Traefik's network (networks: [%s])", net, c.Name, net)})
	}
	if len(out) == 0 {
		return one(OK, "every dswap-managed service shares a network with Traefik", "")
	}
	return out
}

func checkHostPorts(_ context.Context, h *Host) []Finding {
	if len(h.Services) == 0 {
		return skip("no dswap-managed services")
	}
	var out []Finding
	for _, c := range h.Services {
		var fixed []string
		for _, b := range c.PublishedPorts {
			if b.HostPort != "" {
				fixed = append(fixed, b.HostPort+"->"+b.ContainerPort)
			}
		}
		if len(fixed) == 0 {
			continue
		}
		out = append(out, Finding{Subject: serviceName(c), Status: Fail,
			Message: fmt.Sprintf("%s publishes host ports (%s): a second container cannot bind them, so the new version cannot start beside the old one (start-first)", serviceName(c), strings.Join(fixed, ", ")),
			Fix:     "remove the ports: mapping (Traefik reaches the container over the network); or accept a gap with DSWAP_ORDER=stop-first"})
	}
	if len(out) == 0 {
		return one(OK, "no dswap-managed service publishes a host port", "")
	}
	return out
}

// routedIPs lists the route files in dir whose servers name an IP.
func routedIPs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !traefik.ReadsAsConfig(e.Name()) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var doc any
		if yaml.Unmarshal(raw, &doc) != nil {
			continue
		}
		if namesIP(doc) {
			out = append(out, e.Name())
		}
	}
	return out
}

// namesIP walks a route file for a server url whose host is an IP.
func namesIP(node any) bool {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if s, ok := v.(string); ok && strings.EqualFold(k, "url") {
				if u, err := url.Parse(s); err == nil && net.ParseIP(u.Hostname()) != nil {
					return true
				}
			}
			if namesIP(v) {
				return true
			}
		}
	case []any:
		for _, v := range n {
			if namesIP(v) {
				return true
			}
		}
	}
	return false
}

func checkKeeper(ctx context.Context, h *Host) []Finding {
	if h.RoutesDir == "" {
		return skip("no routes directory known")
	}
	byIP := routedIPs(h.RoutesDir)
	if len(byIP) == 0 {
		return one(OK, "no route names a container by IP (names survive restarts)", "")
	}
	if h.KeeperRunning == nil {
		return skip("cannot tell whether a route keeper runs")
	}
	holder, running, err := h.KeeperRunning(ctx)
	switch {
	case err != nil:
		return one(Warn, fmt.Sprintf("routes %s name container IPs, and whether a route keeper runs cannot be told: %v", strings.Join(byIP, ", "), err), "")
	case running:
		return one(OK, fmt.Sprintf("routes %s name container IPs, kept right by %s", strings.Join(byIP, ", "), holder), "")
	}
	return one(Warn, fmt.Sprintf("routes %s name container IPs and no route keeper runs: after a restart of such a container (or of the Engine) it gets another IP and the service answers 502 until dswap sync", strings.Join(byIP, ", ")),
		"run `dswap keep` (contrib/systemd/dswap-keep.service) or the sidecar `dswap serve`")
}

func checkSidecarToken(_ context.Context, h *Host) []Finding {
	if len(h.Sidecars) == 0 {
		return one(OK, "no dswap sidecar (dswap serve) runs: nothing to check", "")
	}
	var out []Finding
	for _, c := range h.Sidecars {
		hasToken := slices.Contains(c.Args, "--token-file") || slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--token-file=") })
		for _, e := range c.Env {
			if v, ok := strings.CutPrefix(e, "DSWAP_TOKEN="); ok && v != "" {
				hasToken = true
				out = append(out, Finding{Subject: c.Name, Status: Warn,
					Message: fmt.Sprintf("sidecar %s takes its API token from DSWAP_TOKEN, which `docker inspect` shows to anyone who can use the Engine", c.Name),
					Fix:     "give it a file instead: a compose secret mounted at /run/secrets/dswap_token and --token-file /run/secrets/dswap_token"})
			}
		}
		if !hasToken {
			unix := slices.ContainsFunc(c.Args, func(a string) bool { return strings.Contains(a, "unix://") })
			if !unix {
				out = append(out, Finding{Subject: c.Name, Status: Fail,
					Message: fmt.Sprintf("sidecar %s has no API token (--token-file or DSWAP_TOKEN): on a TCP address it refuses to start", c.Name),
					Fix:     "create a token (openssl rand -hex 32 > dswap_token), mount it as a compose secret and pass --token-file /run/secrets/dswap_token"})
			}
		}
	}
	if len(out) == 0 {
		return one(OK, "every dswap sidecar has its API token in a file", "")
	}
	return out
}
