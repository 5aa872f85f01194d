package lab

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// appPort is the port testapp listens on inside its container.
var appPort = nat.Port("8080/tcp")

// App describes a container for RunApp.
type App struct {
	Name        string            // container name; it is also its DNS name on the lab network
	Image       string            // image reference, typically an AppImage.Tag
	Labels      map[string]string // container labels; dswap.lab=<prefix> is added
	Env         []string          // KEY=VALUE pairs added to the image's environment
	PublishPort bool              // publish 8080 on a random 127.0.0.1 port
	Binds       []string          // volume binds, e.g. "myvolume:/data"
	Aliases     []string          // network aliases on the lab network
}

// RunApp creates and starts app on the lab network, labelled as the lab's.
// When the container was created but did not start, the ID is returned
// together with the error so that callers can inspect it; Close removes it
// either way.
func (l *Lab) RunApp(ctx context.Context, app App) (string, error) {
	if app.Name == "" || !prefixPattern.MatchString(app.Name) {
		return "", fmt.Errorf("running app: container name %q must match %s", app.Name, prefixPattern)
	}
	if app.Image == "" {
		return "", fmt.Errorf("running app %s: App.Image is required", app.Name)
	}
	cfg := &container.Config{
		Image:  app.Image,
		Labels: appLabels(app.Labels, l.Prefix),
		Env:    app.Env,
	}
	hostCfg := &container.HostConfig{NetworkMode: container.NetworkMode(l.Network), Binds: app.Binds, RestartPolicy: l.restartPolicy()}
	if app.PublishPort {
		cfg.ExposedPorts = nat.PortSet{appPort: {}}
		hostCfg.PortBindings = nat.PortMap{appPort: {{HostIP: "127.0.0.1", HostPort: ""}}}
	}
	netCfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{l.Network: {Aliases: app.Aliases}}}
	created, err := l.Docker.ContainerCreate(ctx, cfg, hostCfg, netCfg, nil, app.Name)
	if err != nil {
		return "", fmt.Errorf("running app %s: creating container from %s: %w", app.Name, app.Image, err)
	}
	l.track(created.ID)
	if err := l.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return created.ID, fmt.Errorf("running app %s: starting container: %w", app.Name, err)
	}
	l.logf("started app %s (%s) from %s", app.Name, shortID(created.ID), app.Image)
	return created.ID, nil
}

// appLabels copies labels and adds the lab label, which always wins so that
// Close finds the container.
func appLabels(labels map[string]string, prefix string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[LabelKey] = prefix
	return out
}

// Container is the part of a container listing that tests look at.
type Container struct {
	ID     string
	Name   string // without the leading slash
	Image  string
	State  string // e.g. "running", "exited"
	Status string // e.g. "Up 3 seconds (healthy)"
	Labels map[string]string
}

// ContainersOf lists this lab's containers, running or not, that also match
// labelFilter ("key" or "key=value"; empty matches all), sorted by name.
func (l *Lab) ContainersOf(ctx context.Context, labelFilter string) ([]Container, error) {
	args := filters.NewArgs(filters.Arg("label", LabelKey+"="+l.Prefix))
	if labelFilter != "" {
		args.Add("label", labelFilter)
	}
	list, err := l.Docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("listing containers of lab %s (label %q): %w", l.Prefix, labelFilter, err)
	}
	return summarize(list), nil
}

// summarize converts the Engine's listing into Containers sorted by name.
func summarize(list []container.Summary) []Container {
	out := make([]Container, 0, len(list))
	for _, c := range list {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Container{
			ID:     c.ID,
			Name:   name,
			Image:  c.Image,
			State:  string(c.State),
			Status: c.Status,
			Labels: c.Labels,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
