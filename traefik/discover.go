package traefik

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"gopkg.in/yaml.v3"
)

// Instance is a Traefik that runs in a container on the Engine.
type Instance struct {
	Container *engine.Container
	// FileDir is the file provider's directory inside the container, and
	// HostDir the same directory on this host (through its mount); either
	// is empty when Traefik has no file provider directory.
	FileDir string
	HostDir string
	// APIURL is where this host reaches Traefik's API, or "" if the API is
	// not enabled on the traefik entrypoint.
	APIURL string
	// DockerProvider says whether Traefik also reads Docker labels, and
	// ExposedByDefault is its providers.docker.exposedByDefault as given
	// ("" when not set: Traefik's default, true).
	DockerProvider   bool
	ExposedByDefault string
	// FileName is providers.file.filename: a single file, which dswap
	// cannot replace atomically (it needs the directory form).
	FileName string
	// Metrics says whether Prometheus metrics are on, and
	// MetricsServiceLabels whether they carry per-service labels (what
	// canary analysis reads).
	Metrics, MetricsServiceLabels bool
	// MetricsURL is where this host reads Traefik's Prometheus metrics:
	// /metrics on the entrypoint metrics.prometheus.entryPoint names
	// ("traefik" unless set); "" when metrics are off or that entrypoint's
	// address is not in the static configuration.
	MetricsURL string
	// MetricsEntryPoint is the entrypoint that serves them, lower case
	// ("traefik" unless metrics.prometheus.entryPoint names another).
	MetricsEntryPoint string
	// Throttle is providers.providersThrottleDuration as given ("" for
	// Traefik's default, 2s).
	Throttle string
}

// Lister lists containers.
type Lister interface {
	List(ctx context.Context, f engine.ListFilter) ([]*engine.Container, error)
}

// Query is what dswap was told about Traefik. What was given explicitly
// wins: discovery only fills in what is missing, and never refuses because
// of containers that merely look like Traefik.
type Query struct {
	// Container names the Traefik container (--traefik-container).
	Container string
	// RoutesDir and APIURL are the routes directory and the API given
	// with --routes-dir and --traefik-api.
	RoutesDir string
	APIURL    string
}

// Find returns the running Traefik container: the one named (or with that
// ID) if name is set, else the only running container that is Traefik.
// None is (nil, nil); several is an error saying what to pass.
func Find(ctx context.Context, docker Lister, name string) (*Instance, error) {
	return Discover(ctx, docker, Query{Container: name})
}

// Discover finds the Traefik container for what q leaves open. A named
// container is read (for its networks), and its file directory is not
// needed when q gives the routes directory. Otherwise, with neither the
// routes directory nor the API given, the only Traefik is the one, and
// several are an error; with one of them given, the Traefik it belongs to
// (or the only one) fills in the other, and when none can be told apart
// the result is nil, for the caller to ask for what is still missing.
func Discover(ctx context.Context, docker Lister, q Query) (*Instance, error) {
	all, err := docker.List(ctx, engine.ListFilter{})
	if err != nil {
		return nil, err
	}
	if q.Container != "" {
		for _, c := range all {
			if c.Name == q.Container || strings.HasPrefix(c.ID, q.Container) {
				inst, err := inspectInstance(c)
				if err != nil && q.RoutesDir != "" {
					inst, err = &Instance{Container: c}, nil
				}
				return inst, err
			}
		}
		return nil, fmt.Errorf("no running container named %s (from --traefik-container / DSWAP_TRAEFIK_CONTAINER)", q.Container)
	}
	var found []*engine.Container
	for _, c := range all {
		if LooksLikeTraefik(c) {
			found = append(found, c)
		}
	}
	if q.RoutesDir == "" && q.APIURL == "" {
		switch len(found) {
		case 0:
			return nil, nil
		case 1:
			return inspectInstance(found[0])
		}
		var names []string
		for _, c := range found {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("several running containers look like Traefik (%s); say which with --traefik-container NAME, or give --routes-dir and --traefik-api", strings.Join(names, ", "))
	}
	var readable, matching []*Instance
	for _, c := range found {
		inst, err := inspectInstance(c)
		if err != nil {
			continue // a Traefik dswap cannot read is not the one it was pointed at
		}
		readable = append(readable, inst)
		if (q.RoutesDir != "" && inst.HostDir != "" && filepath.Clean(inst.HostDir) == filepath.Clean(q.RoutesDir)) ||
			(q.APIURL != "" && inst.APIURL != "" && strings.TrimRight(inst.APIURL, "/") == strings.TrimRight(q.APIURL, "/")) {
			matching = append(matching, inst)
		}
	}
	switch {
	case len(matching) == 1:
		return matching[0], nil
	case len(matching) == 0 && len(readable) == 1 && len(found) == 1:
		return readable[0], nil
	}
	return nil, nil
}

// LooksLikeTraefik says whether a container is a Traefik: labelled
// dswap.traefik=true, or running an image whose repository's last path
// element is traefik (traefik:v3.6, registry.example.com/proxy/traefik),
// or a command named traefik. An image of Traefik's organisation
// (traefik/whoami) is not Traefik, and dswap.traefik=false rules a
// container out.
func LooksLikeTraefik(c *engine.Container) bool {
	switch c.Labels["dswap.traefik"] {
	case "true":
		return true
	case "false":
		return false
	}
	if imageName(c.Image) == "traefik" {
		return true
	}
	// A binary image runs /traefik or traefik directly; the official
	// image runs /entrypoint.sh traefik ...
	switch {
	case len(c.Args) > 0 && filepath.Base(c.Args[0]) == "traefik":
		return true
	case len(c.Args) > 1 && strings.HasSuffix(c.Args[0], "entrypoint.sh") && filepath.Base(c.Args[1]) == "traefik":
		return true
	}
	return false
}

// imageName is the last path element of an image reference's repository,
// without tag or digest, lower-cased.
func imageName(ref string) string {
	ref = strings.ToLower(ref)
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.Index(last, ":"); i >= 0 {
		last = last[:i]
	}
	return last
}

// inspectInstance reads Traefik's static configuration from its command
// line, its environment, or its static configuration file.
func inspectInstance(c *engine.Container) (*Instance, error) {
	st := staticConfig{}
	st.fromFile(c)
	st.fromEnv(c.Env)
	st.fromArgs(c.Args)
	inst := &Instance{Container: c, FileDir: st.fileDir, DockerProvider: st.docker, ExposedByDefault: st.exposedByDefault,
		FileName: st.fileName, Metrics: st.metrics, MetricsServiceLabels: st.serviceLabels, Throttle: st.throttle}
	if st.apiInsecure {
		inst.APIURL = apiURL(c, st.apiPort)
	}
	if st.metrics {
		inst.MetricsURL, inst.MetricsEntryPoint = st.metricsURL(c), st.metricsEntry()
	}
	if st.fileDir != "" {
		host, err := hostPath(c, st.fileDir)
		if err != nil {
			return inst, err
		}
		inst.HostDir = host
	}
	return inst, nil
}

// Inspect reads what dswap needs of a Traefik container's static
// configuration. On an error about its file directory the instance is
// still returned, with what could be read, for dswap doctor to report.
func Inspect(c *engine.Container) (*Instance, error) { return inspectInstance(c) }

type staticConfig struct {
	fileDir     string
	apiInsecure bool
	apiPort     string
	docker      bool
	// What dswap doctor reports on.
	exposedByDefault       string
	fileName               string
	metrics, serviceLabels bool
	throttle               string
	// metricsEntryPoint is metrics.prometheus.entryPoint; entryPorts the
	// port of each entrypoint's address, by lower-case name.
	metricsEntryPoint string
	entryPorts        map[string]string
}

// metricsEntry is the entrypoint that serves the metrics.
func (s *staticConfig) metricsEntry() string {
	if s.metricsEntryPoint == "" {
		return "traefik"
	}
	return strings.ToLower(s.metricsEntryPoint)
}

// metricsURL is where Traefik serves its Prometheus metrics, as this host
// reaches the container: the traefik entrypoint (port 8080 unless moved)
// unless metrics.prometheus.entryPoint names another.
func (s *staticConfig) metricsURL(c *engine.Container) string {
	ep := s.metricsEntry()
	port := s.entryPorts[ep]
	if port == "" && ep != "traefik" {
		return ""
	}
	base := apiURL(c, port)
	if base == "" {
		return ""
	}
	return base + "/metrics"
}

// fromArgs reads --flag=value and --flag value forms; flag names are
// case-insensitive in Traefik.
func (s *staticConfig) fromArgs(args []string) {
	for i := 0; i < len(args); i++ {
		key, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			value = args[i+1]
		}
		if !hasValue && value == "" {
			value = "true"
		}
		s.set(strings.ToLower(key), value)
	}
}

func (s *staticConfig) fromEnv(env []string) {
	for _, e := range env {
		key, value, _ := strings.Cut(e, "=")
		if rest, ok := strings.CutPrefix(key, "TRAEFIK_"); ok {
			s.set(strings.ToLower(strings.ReplaceAll(rest, "_", ".")), value)
		}
	}
}

func (s *staticConfig) set(key, value string) {
	switch {
	case key == "providers.file.directory":
		s.fileDir = value
	case key == "api.insecure":
		s.apiInsecure = value == "true"
	case strings.HasPrefix(key, "entrypoints.") && strings.HasSuffix(key, ".address"):
		name := strings.TrimSuffix(strings.TrimPrefix(key, "entrypoints."), ".address")
		port := strings.TrimPrefix(value[strings.LastIndex(value, ":")+1:], ":")
		if name == "traefik" {
			s.apiPort = port
		}
		if s.entryPorts == nil {
			s.entryPorts = map[string]string{}
		}
		s.entryPorts[name] = port
	case key == "providers.docker.exposedbydefault":
		s.docker = true
		s.exposedByDefault = value
	case key == "providers.docker" || strings.HasPrefix(key, "providers.docker."):
		s.docker = true
	case key == "providers.file.filename":
		s.fileName = value
	case key == "metrics.prometheus":
		s.metrics = value == "true"
	case key == "metrics.prometheus.addserviceslabels":
		s.metrics = true
		s.serviceLabels = value == "true"
	case key == "metrics.prometheus.entrypoint":
		s.metrics = true
		s.metricsEntryPoint = value
	case strings.HasPrefix(key, "metrics.prometheus."):
		s.metrics = true
	case key == "providers.providersthrottleduration":
		s.throttle = value
	}
}

// fromFile reads the static configuration file Traefik would load, if it
// is a YAML file reachable through one of the container's mounts.
func (s *staticConfig) fromFile(c *engine.Container) {
	path := "/etc/traefik/traefik.yml"
	for i, a := range c.Args {
		k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.EqualFold(k, "configfile") {
			if !ok && i+1 < len(c.Args) {
				v = c.Args[i+1]
			}
			path = v
		}
	}
	host, err := hostPath(c, path)
	if err != nil || host == "" {
		return
	}
	raw, err := os.ReadFile(host)
	if err != nil {
		return
	}
	var doc struct {
		Providers map[string]struct {
			Directory string `yaml:"directory"`
		} `yaml:"providers"`
		API struct {
			Insecure bool `yaml:"insecure"`
		} `yaml:"api"`
		EntryPoints map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"entryPoints"`
		Metrics struct {
			Prometheus *struct {
				EntryPoint        string `yaml:"entryPoint"`
				AddServicesLabels bool   `yaml:"addServicesLabels"`
			} `yaml:"prometheus"`
		} `yaml:"metrics"`
	}
	if yaml.Unmarshal(raw, &doc) != nil {
		return
	}
	for name, p := range doc.Providers {
		switch strings.ToLower(name) {
		case "file":
			s.fileDir = p.Directory
		case "docker":
			s.docker = true
		}
	}
	s.apiInsecure = doc.API.Insecure
	for name, ep := range doc.EntryPoints {
		s.set("entrypoints."+strings.ToLower(name)+".address", ep.Address)
	}
	if p := doc.Metrics.Prometheus; p != nil {
		s.metrics, s.serviceLabels, s.metricsEntryPoint = true, p.AddServicesLabels, p.EntryPoint
	}
}

// hostPath maps a path inside the container to this host through the
// container's mounts. The path is cleaned first, so that a ".." in it is
// resolved as Traefik would, and the result stays inside the mount that
// holds it; a relative path (resolved from Traefik's working directory)
// is refused.
func hostPath(c *engine.Container, inContainer string) (string, error) {
	if !path.IsAbs(inContainer) {
		return "", fmt.Errorf("Traefik container %s reads %s, a relative path, which dswap does not resolve; pass --routes-dir with the directory on this host", c.Name, inContainer)
	}
	inContainer = path.Clean(inContainer)
	best := engine.Mount{}
	for _, m := range c.Mounts {
		if (inContainer == m.Destination || strings.HasPrefix(inContainer, strings.TrimRight(m.Destination, "/")+"/")) && len(m.Destination) > len(best.Destination) {
			best = m
		}
	}
	if best.Destination == "" {
		return "", fmt.Errorf("Traefik container %s reads %s, which is not mounted from the host, so dswap cannot write routes there; mount a host directory or a volume at %s", c.Name, inContainer, inContainer)
	}
	rest := strings.TrimPrefix(inContainer, strings.TrimRight(best.Destination, "/"))
	host := filepath.Join(best.Source, rest)
	if rel, err := filepath.Rel(best.Source, host); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("Traefik container %s reads %s, which leaves its mount %s; pass --routes-dir with the directory on this host", c.Name, inContainer, best.Destination)
	}
	return host, nil
}

// apiURL finds where this host reaches the traefik entrypoint: a published
// port if there is one, else the container's address.
func apiURL(c *engine.Container, port string) string {
	if port == "" {
		port = "8080"
	}
	for _, b := range c.PublishedPorts {
		if b.ContainerPort == port+"/tcp" && b.HostPort != "" {
			ip := b.HostIP
			if ip == "" || ip == "0.0.0.0" || ip == "::" {
				ip = "127.0.0.1"
			}
			return "http://" + ip + ":" + b.HostPort
		}
	}
	for _, ep := range c.Networks {
		if ep.IPAddress != "" {
			return "http://" + ep.IPAddress + ":" + port
		}
	}
	return ""
}
