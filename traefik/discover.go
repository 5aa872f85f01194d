package traefik

import (
	"context"
	"fmt"
	"os"
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
	// DockerProvider says whether Traefik also reads Docker labels.
	DockerProvider bool
}

// Lister lists containers.
type Lister interface {
	List(ctx context.Context, f engine.ListFilter) ([]*engine.Container, error)
}

// Find returns the running Traefik container: the one named (or with that
// ID) if name is set, else the only running container whose image or
// command is Traefik's. None or several is an error saying what to pass.
func Find(ctx context.Context, docker Lister, name string) (*Instance, error) {
	all, err := docker.List(ctx, engine.ListFilter{})
	if err != nil {
		return nil, err
	}
	var found []*engine.Container
	for _, c := range all {
		switch {
		case name != "":
			if c.Name == name || strings.HasPrefix(c.ID, name) {
				found = append(found, c)
			}
		case looksLikeTraefik(c):
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0 && name != "":
		return nil, fmt.Errorf("no running container named %s (from --traefik-container / DSWAP_TRAEFIK_CONTAINER)", name)
	case len(found) == 0:
		return nil, nil
	case len(found) > 1:
		var names []string
		for _, c := range found {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("several running containers look like Traefik (%s); say which with --traefik-container NAME", strings.Join(names, ", "))
	}
	return inspectInstance(found[0])
}

func looksLikeTraefik(c *engine.Container) bool {
	if c.Labels["dswap.traefik"] == "true" {
		return true
	}
	image := strings.ToLower(c.Image)
	if strings.Contains(image, "traefik") {
		return true
	}
	return len(c.Args) > 0 && filepath.Base(c.Args[0]) == "traefik"
}

// inspectInstance reads Traefik's static configuration from its command
// line, its environment, or its static configuration file.
func inspectInstance(c *engine.Container) (*Instance, error) {
	st := staticConfig{}
	st.fromFile(c)
	st.fromEnv(c.Env)
	st.fromArgs(c.Args)
	inst := &Instance{Container: c, FileDir: st.fileDir, DockerProvider: st.docker}
	if st.fileDir != "" {
		host, err := hostPath(c, st.fileDir)
		if err != nil {
			return nil, err
		}
		inst.HostDir = host
	}
	if st.apiInsecure {
		inst.APIURL = apiURL(c, st.apiPort)
	}
	return inst, nil
}

type staticConfig struct {
	fileDir     string
	apiInsecure bool
	apiPort     string
	docker      bool
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
	case key == "entrypoints.traefik.address":
		s.apiPort = strings.TrimPrefix(value[strings.LastIndex(value, ":")+1:], ":")
	case key == "providers.docker" || strings.HasPrefix(key, "providers.docker."):
		s.docker = true
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
		if strings.EqualFold(name, "traefik") {
			s.apiPort = ep.Address[strings.LastIndex(ep.Address, ":")+1:]
		}
	}
}

// hostPath maps a path inside the container to this host through the
// container's mounts.
func hostPath(c *engine.Container, inContainer string) (string, error) {
	best := engine.Mount{}
	for _, m := range c.Mounts {
		if (inContainer == m.Destination || strings.HasPrefix(inContainer, strings.TrimRight(m.Destination, "/")+"/")) && len(m.Destination) > len(best.Destination) {
			best = m
		}
	}
	if best.Destination == "" {
		return "", fmt.Errorf("Traefik container %s reads %s, which is not mounted from the host, so dswap cannot write routes there; mount a host directory or a volume at %s", c.Name, inContainer, inContainer)
	}
	rest := strings.TrimPrefix(inContainer, best.Destination)
	return filepath.Join(best.Source, rest), nil
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
