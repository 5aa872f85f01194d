package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// Create creates the container described by spec and attaches it to all its
// networks. It does not start it. On failure nothing is left behind.
func (e *Engine) Create(ctx context.Context, spec *Spec) (string, error) {
	cfg := spec.config
	cfg.Image = spec.Image
	cfg.Labels = spec.Labels
	var netCfg *network.NetworkingConfig
	// API 1.41 accepts one network at create; the others are connected
	// before the container starts, which is equivalent for the process.
	if len(spec.networks) > 0 {
		first := spec.networks[0]
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{first.name: first.endpoint}}
	}
	created, err := e.api.ContainerCreate(ctx, &cfg, &spec.host, netCfg, nil, spec.Name)
	if err != nil {
		return "", notFound(err, fmt.Sprintf("creating container %s from %s", spec.Name, spec.Image))
	}
	for _, n := range spec.networks[min(1, len(spec.networks)):] {
		if err := e.api.NetworkConnect(ctx, n.name, created.ID, n.endpoint); err != nil {
			_ = e.Remove(context.WithoutCancel(ctx), created.ID)
			return "", fmt.Errorf("connecting container %s to network %s: %w", spec.Name, n.name, err)
		}
	}
	return created.ID, nil
}

// Start starts a created container.
func (e *Engine) Start(ctx context.Context, id string) error {
	if err := e.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return notFound(err, "starting container "+id)
	}
	return nil
}

// Stop sends the container its stop signal (its StopSignal, SIGTERM by
// default) and kills it if it has not exited when timeout ends. The daemon
// does the waiting; ctx must allow for timeout plus a margin.
func (e *Engine) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := int((timeout + time.Second - 1) / time.Second)
	if err := e.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		return notFound(err, "stopping container "+id)
	}
	return nil
}

// Remove force-removes a container and its anonymous volumes.
func (e *Engine) Remove(ctx context.Context, id string) error {
	err := e.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil {
		return notFound(err, "removing container "+id)
	}
	return nil
}

// Rename renames a container.
func (e *Engine) Rename(ctx context.Context, id, name string) error {
	if err := e.api.ContainerRename(ctx, id, name); err != nil {
		return notFound(err, "renaming container "+id+" to "+name)
	}
	return nil
}
