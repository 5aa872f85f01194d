package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// Container is what dswap knows about one container.
type Container struct {
	ID   string
	Name string // without Docker's leading slash
	// Image is the reference the container was created from, as written
	// (e.g. "myapp:v1"); ImageID is the image it actually runs.
	Image   string
	ImageID string
	Labels  map[string]string
	Created time.Time
	State   State
	// Networks maps network name to this container's endpoint on it.
	Networks map[string]Endpoint
	// ExposedPorts are the container's exposed TCP ports, sorted.
	ExposedPorts []int
	// PublishedPorts are host bindings; a second container cannot hold them.
	PublishedPorts []PortBinding
	// Healthcheck is the effective HEALTHCHECK (container's or image's),
	// nil when there is none or it is disabled.
	Healthcheck *Healthcheck
	StopSignal  string
	// Mounts lists host paths and volumes mounted into the container.
	Mounts []Mount
	// Args is the process's command line (entrypoint then command).
	Args []string
	Env  []string

	raw container.InspectResponse
}

// State is the run state of a container.
type State struct {
	Status     string // created, running, exited, ...
	Running    bool
	Restarting bool
	ExitCode   int
	OOMKilled  bool
	// Pid is the host pid of the container's init process while it runs.
	Pid        int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// Health is "starting", "healthy", "unhealthy", or "" without a HEALTHCHECK.
	Health    string
	HealthLog []HealthResult
}

// HealthResult is one run of a container's health check.
type HealthResult struct {
	Start, End time.Time
	ExitCode   int
	Output     string
}

// Healthcheck is a container's HEALTHCHECK.
type Healthcheck struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// Endpoint is a container's attachment to one network.
type Endpoint struct {
	NetworkID string
	IPAddress string
	Aliases   []string
}

// PortBinding is one host port published for a container port.
type PortBinding struct {
	ContainerPort string // e.g. "8080/tcp"
	HostIP        string
	HostPort      string
}

// Mount is one mount of a container.
type Mount struct {
	Type        string // bind, volume, tmpfs
	Source      string // host path (for volumes, the volume's data directory)
	Destination string
	Name        string // volume name
	ReadWrite   bool
}

// ShortID is the 12-character form Docker prints.
func (c *Container) ShortID() string {
	if len(c.ID) > 12 {
		return c.ID[:12]
	}
	return c.ID
}

// Inspect returns the container with this ID or name.
func (e *Engine) Inspect(ctx context.Context, idOrName string) (*Container, error) {
	raw, err := e.api.ContainerInspect(ctx, idOrName)
	if err != nil {
		return nil, notFound(err, "inspecting container "+idOrName)
	}
	return FromInspect(raw), nil
}

// ListFilter selects containers for List.
type ListFilter struct {
	// Labels are "key" or "key=value" filters, all of which must match.
	Labels []string
	// All includes stopped containers.
	All bool
}

// List returns the matching containers, fully inspected, oldest first.
func (e *Engine) List(ctx context.Context, f ListFilter) ([]*Container, error) {
	args := filters.NewArgs()
	for _, l := range f.Labels {
		args.Add("label", l)
	}
	summaries, err := e.api.ContainerList(ctx, container.ListOptions{All: f.All, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]*Container, 0, len(summaries))
	for _, s := range summaries {
		c, err := e.Inspect(ctx, s.ID)
		if err != nil {
			// A container removed between list and inspect is simply gone.
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// FromInspect converts the daemon's container inspect data. Tests use it to
// build containers without a daemon.
func FromInspect(raw container.InspectResponse) *Container {
	c := &Container{
		ID:       raw.ID,
		Name:     strings.TrimPrefix(raw.Name, "/"),
		ImageID:  raw.Image,
		Networks: map[string]Endpoint{},
		raw:      raw,
	}
	c.Created, _ = time.Parse(time.RFC3339Nano, raw.Created)
	if cfg := raw.Config; cfg != nil {
		c.Image = cfg.Image
		c.Labels = cfg.Labels
		c.StopSignal = cfg.StopSignal
		c.Env = cfg.Env
		c.Args = append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
		for p := range cfg.ExposedPorts {
			if p.Proto() == "tcp" {
				c.ExposedPorts = append(c.ExposedPorts, p.Int())
			}
		}
		sort.Ints(c.ExposedPorts)
		c.Healthcheck = healthcheckOf(cfg.Healthcheck)
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	if s := raw.State; s != nil {
		c.State = State{
			Status:     s.Status,
			Running:    s.Running,
			Restarting: s.Restarting,
			ExitCode:   s.ExitCode,
			OOMKilled:  s.OOMKilled,
			Error:      s.Error,
			Pid:        s.Pid,
		}
		c.State.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
		c.State.FinishedAt, _ = time.Parse(time.RFC3339Nano, s.FinishedAt)
		if h := s.Health; h != nil {
			c.State.Health = string(h.Status)
			for _, r := range h.Log {
				if r == nil {
					continue
				}
				c.State.HealthLog = append(c.State.HealthLog, HealthResult{Start: r.Start, End: r.End, ExitCode: r.ExitCode, Output: r.Output})
			}
		}
	}
	if ns := raw.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep == nil {
				continue
			}
			c.Networks[name] = Endpoint{NetworkID: ep.NetworkID, IPAddress: ep.IPAddress, Aliases: ep.Aliases}
		}
	}
	if hc := raw.HostConfig; hc != nil {
		for port, bindings := range hc.PortBindings {
			for _, b := range bindings {
				c.PublishedPorts = append(c.PublishedPorts, PortBinding{ContainerPort: string(port), HostIP: b.HostIP, HostPort: b.HostPort})
			}
		}
		sort.Slice(c.PublishedPorts, func(i, j int) bool { return c.PublishedPorts[i].ContainerPort < c.PublishedPorts[j].ContainerPort })
	}
	for _, m := range raw.Mounts {
		c.Mounts = append(c.Mounts, Mount{Type: string(m.Type), Source: m.Source, Destination: m.Destination, Name: m.Name, ReadWrite: m.RW})
	}
	return c
}

func healthcheckOf(h *container.HealthConfig) *Healthcheck {
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	out := &Healthcheck{
		Test:        h.Test,
		Interval:    h.Interval,
		Timeout:     h.Timeout,
		StartPeriod: h.StartPeriod,
		Retries:     h.Retries,
	}
	// Zero means "Docker's default"; spell the defaults out so deadlines
	// computed from them are right.
	if out.Interval == 0 {
		out.Interval = 30 * time.Second
	}
	if out.Timeout == 0 {
		out.Timeout = 30 * time.Second
	}
	if out.Retries == 0 {
		out.Retries = 3
	}
	return out
}

// PortOf parses "8080/tcp" into 8080.
func PortOf(containerPort string) int {
	n, _ := strconv.Atoi(strings.SplitN(containerPort, "/", 2)[0])
	return n
}
