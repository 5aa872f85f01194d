package engine

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// Spec is a container to be created. It is built by Clone (a sibling of a
// running container) and adjusted by the swap (name, labels, health check)
// before Create.
type Spec struct {
	Name  string
	Image string
	// Labels are the labels set on the container itself; the new image's
	// own labels are added by the daemon underneath them.
	Labels map[string]string

	config   container.Config
	host     container.HostConfig
	networks []networkAttachment // the first is the one the container is created on
}

type networkAttachment struct {
	name     string
	endpoint *network.EndpointSettings
}

// Networks returns the names of the networks the container will join, the
// one it is created on first.
func (s *Spec) Networks() []string {
	out := make([]string, 0, len(s.networks))
	for _, n := range s.networks {
		out = append(out, n.name)
	}
	return out
}

// SetHealthcheck replaces the HEALTHCHECK the container would otherwise get
// from its image (used for an explicit --health-cmd).
func (s *Spec) SetHealthcheck(h Healthcheck) {
	s.config.Healthcheck = &container.HealthConfig{
		Test:        h.Test,
		Interval:    h.Interval,
		Timeout:     h.Timeout,
		StartPeriod: h.StartPeriod,
		Retries:     h.Retries,
	}
}

// PortConflictError says that the container publishes fixed host ports, which
// two containers cannot hold at once, so the new one cannot start first.
type PortConflictError struct {
	Container string
	Bindings  []PortBinding
}

func (e *PortConflictError) Error() string {
	var ports []string
	for _, b := range e.Bindings {
		ip := b.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		ports = append(ports, fmt.Sprintf("%s:%s->%s", ip, b.HostPort, b.ContainerPort))
	}
	return fmt.Sprintf("container %s publishes host port(s) %s; a second container cannot bind them while %s runs, so dswap cannot start the new version first. Remove the port publishing (Traefik reaches the container over a shared network) and try again",
		e.Container, strings.Join(ports, ", "), e.Container)
}

// ErrSharedNetworkNamespace is returned for containers that use the host's or
// another container's network namespace: the new and the old process would
// listen on the same address, so they cannot run side by side.
var ErrSharedNetworkNamespace = errors.New("shares a network namespace")

// Clone builds the spec of a sibling of old that runs the image ref. The sibling keeps what the user set on old and takes its
// defaults from the new image: Docker merges the image's configuration into
// what `inspect` shows, so anything equal to the old image's value is treated
// as an image default and left for the new image to supply. A v2 container
// must not inherit VERSION=v1 from the v1 image.
func Clone(old *Container, oldImage *Image, ref string) (*Spec, error) {
	return clone(old, oldImage, ref, true)
}

func clone(old *Container, oldImage *Image, ref string, coexist bool) (*Spec, error) {
	raw := old.raw
	if raw.Config == nil || raw.HostConfig == nil {
		return nil, fmt.Errorf("container %s: inspect data is incomplete", old.Name)
	}
	if coexist {
		if err := checkCoexist(old); err != nil {
			return nil, err
		}
	}
	def := oldImage.defaults
	cfg := *raw.Config
	cfg.Image = ref
	cfg.Env = userEntries(raw.Config.Env, def.Env)
	cfg.Labels = nil
	cfg.ExposedPorts = userPorts(raw.Config.ExposedPorts, def.ExposedPorts)
	cfg.Volumes = userSet(raw.Config.Volumes, def.Volumes)
	cfg.Entrypoint, cfg.Cmd = userCommand(raw.Config.Entrypoint, raw.Config.Cmd, def.Entrypoint, def.Cmd)
	cfg.WorkingDir = userString(raw.Config.WorkingDir, def.WorkingDir)
	cfg.User = userString(raw.Config.User, def.User)
	cfg.StopSignal = userString(raw.Config.StopSignal, def.StopSignal)
	if reflect.DeepEqual(raw.Config.Healthcheck, def.Healthcheck) {
		cfg.Healthcheck = nil
	}
	// Docker sets the hostname to the short container ID unless the user
	// chose one; the new container must get its own.
	if cfg.Hostname == old.ShortID() {
		cfg.Hostname = ""
	}
	cfg.MacAddress = "" //nolint:staticcheck // A MAC address cannot be shared by two running containers.

	host := *raw.HostConfig
	host.ContainerIDFile = ""

	spec := &Spec{
		Image:  ref,
		Labels: userLabels(raw.Config.Labels, def.Labels),
		config: cfg,
		host:   host,
	}
	// The new image's defaults are applied by the daemon at create.
	spec.networks = attachments(old)
	return spec, nil
}

// checkCoexist refuses containers whose settings cannot be held by two
// containers at once.
func checkCoexist(old *Container) error {
	mode := container.NetworkMode(old.raw.HostConfig.NetworkMode)
	if mode.IsHost() || mode.IsContainer() {
		return fmt.Errorf("container %s uses network mode %q and %w with the new version, so both cannot listen at once; attach it to a network shared with Traefik instead", old.Name, mode, ErrSharedNetworkNamespace)
	}
	var fixed []PortBinding
	for _, b := range old.PublishedPorts {
		if b.HostPort != "" && b.HostPort != "0" {
			fixed = append(fixed, b)
		}
	}
	if len(fixed) > 0 {
		return &PortConflictError{Container: old.Name, Bindings: fixed}
	}
	for name, ep := range old.raw.NetworkSettings.Networks {
		if ep != nil && ep.IPAMConfig != nil && (ep.IPAMConfig.IPv4Address != "" || ep.IPAMConfig.IPv6Address != "") {
			return fmt.Errorf("container %s has a fixed IP address on network %s; two containers cannot hold it at once, so dswap cannot start the new version first. Remove the fixed address (Traefik reaches the container by name)", old.Name, name)
		}
	}
	return nil
}

// attachments lists old's networks with the aliases the user gave, the
// network the container was created on first.
func attachments(old *Container) []networkAttachment {
	raw := old.raw
	if raw.NetworkSettings == nil {
		return nil
	}
	primary := string(raw.HostConfig.NetworkMode)
	if primary == "default" {
		primary = "bridge"
	}
	names := slices.Sorted(maps.Keys(raw.NetworkSettings.Networks))
	sort.SliceStable(names, func(i, j int) bool { return names[i] == primary && names[j] != primary })
	var out []networkAttachment
	for _, name := range names {
		ep := raw.NetworkSettings.Networks[name]
		if ep == nil {
			continue
		}
		settings := &network.EndpointSettings{
			Links:      ep.Links,
			DriverOpts: ep.DriverOpts,
		}
		for _, a := range ep.Aliases {
			// Docker adds the short container ID as an alias by itself.
			if a == old.ShortID() || strings.HasPrefix(old.ID, a) && len(a) >= 12 {
				continue
			}
			settings.Aliases = append(settings.Aliases, a)
		}
		out = append(out, networkAttachment{name: name, endpoint: settings})
	}
	return out
}

// userEntries keeps the KEY=VALUE entries the image did not set itself.
func userEntries(container, image []string) []string {
	fromImage := map[string]bool{}
	for _, e := range image {
		fromImage[e] = true
	}
	var out []string
	for _, e := range container {
		if !fromImage[e] {
			out = append(out, e)
		}
	}
	return out
}

func userLabels(container, image map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range container {
		if iv, ok := image[k]; ok && iv == v {
			continue
		}
		out[k] = v
	}
	return out
}

func userPorts(container nat.PortSet, image map[string]struct{}) nat.PortSet {
	var out nat.PortSet
	for p := range container {
		if _, ok := image[string(p)]; ok {
			continue
		}
		if out == nil {
			out = nat.PortSet{}
		}
		out[p] = struct{}{}
	}
	return out
}

func userSet(container, image map[string]struct{}) map[string]struct{} {
	var out map[string]struct{}
	for k := range container {
		if _, ok := image[k]; ok {
			continue
		}
		if out == nil {
			out = map[string]struct{}{}
		}
		out[k] = struct{}{}
	}
	return out
}

func userString(container, image string) string {
	if container == image {
		return ""
	}
	return container
}

// userCommand decides what of the entrypoint and command the user set. When
// a container sets its own entrypoint, Docker does not add the image's
// command, so both carry over; otherwise only a command that differs from
// the image's is the user's.
func userCommand(entrypoint, cmd, imageEntrypoint, imageCmd []string) ([]string, []string) {
	if !slices.Equal(entrypoint, imageEntrypoint) {
		return entrypoint, cmd
	}
	if !slices.Equal(cmd, imageCmd) {
		return nil, cmd
	}
	return nil, nil
}

// HasHealthcheck says whether the spec sets its own HEALTHCHECK (not
// counting the image's); a "NONE" test disables the image's.
func (s *Spec) HasHealthcheck() (set bool, disabled bool) {
	h := s.config.Healthcheck
	if h == nil || len(h.Test) == 0 {
		return false, false
	}
	if h.Test[0] == "NONE" {
		return false, true
	}
	return true, false
}

// ExposedPorts are the TCP ports the spec exposes itself (the image may
// expose more).
func (s *Spec) ExposedPorts() []int {
	var out []int
	for p := range s.config.ExposedPorts {
		if p.Proto() == "tcp" {
			out = append(out, p.Int())
		}
	}
	sort.Ints(out)
	return out
}

// FromImage is the spec of a first container of a service that has none to
// copy: the image's defaults, on the given network.
func FromImage(ref, networkName string) *Spec {
	s := &Spec{Image: ref, Labels: map[string]string{}}
	s.host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
	if networkName != "" {
		s.host.NetworkMode = container.NetworkMode(networkName)
		s.networks = []networkAttachment{{name: networkName, endpoint: &network.EndpointSettings{}}}
	}
	return s
}

// CloneAfterStop is Clone for a sibling that starts only after old has
// stopped (stop-first order): settings two running containers could not
// share, such as fixed host ports, carry over.
func CloneAfterStop(old *Container, oldImage *Image, ref string) (*Spec, error) {
	return clone(old, oldImage, ref, false)
}
