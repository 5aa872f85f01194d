package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// OneOff returns the spec of a one-off container that runs cmd with s's
// settings: the same image, environment, mounts, user, working directory
// and networks, as `docker run IMAGE CMD...` would give it (the image's or
// the service's entrypoint still applies). What would make it part of the
// service is left out: it has no HEALTHCHECK, no restart policy, no
// published ports (the running containers hold them), no network aliases
// (requests for the service must not reach it) and only the labels given,
// so neither dswap, compose nor Traefik count it as a member of the service.
func (s *Spec) OneOff(name string, cmd []string, labels map[string]string) *Spec {
	out := &Spec{Name: name, Image: s.Image, Labels: maps.Clone(labels)}
	out.config = s.config
	out.config.Cmd = cmd
	out.config.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
	out.config.Hostname = ""
	out.config.ExposedPorts = nil
	out.host = s.host
	out.host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
	out.host.PortBindings = nat.PortMap{}
	out.host.PublishAllPorts = false
	out.host.AutoRemove = false
	for _, n := range s.networks {
		ep := &network.EndpointSettings{Links: n.endpoint.Links, DriverOpts: n.endpoint.DriverOpts}
		out.networks = append(out.networks, networkAttachment{name: n.name, endpoint: ep})
	}
	return out
}

// Command is the command a one-off container runs.
func (s *Spec) Command() []string { return s.config.Cmd }

// HostPortBindings are the spec's published ports, for tests.
func (s *Spec) HostPortBindings() nat.PortMap { return s.host.PortBindings }

// RestartPolicy is the spec's restart policy name, for tests.
func (s *Spec) RestartPolicy() string { return string(s.host.RestartPolicy.Name) }

// Wait returns a channel that gets the container's exit code once it has
// stopped, or an error. Call it before starting the container, so that an
// exit that comes at once is not missed.
func (e *Engine) Wait(ctx context.Context, id string) <-chan WaitResult {
	out := make(chan WaitResult, 1)
	waitCh, errCh := e.api.ContainerWait(ctx, id, container.WaitConditionNextExit)
	go func() {
		select {
		case r := <-waitCh:
			if r.Error != nil && r.Error.Message != "" {
				out <- WaitResult{ExitCode: int(r.StatusCode), Err: fmt.Errorf("waiting for container %s: %s", id, r.Error.Message)}
				return
			}
			out <- WaitResult{ExitCode: int(r.StatusCode)}
		case err := <-errCh:
			out <- WaitResult{Err: notFound(err, "waiting for container "+id)}
		}
	}()
	return out
}

// WaitResult is how a container ended.
type WaitResult struct {
	ExitCode int
	Err      error
}

// FollowLogs calls line with each line the container writes to stdout and
// stderr, from its start until it stops or ctx ends.
func (e *Engine) FollowLogs(ctx context.Context, id string, line func(string)) error {
	rc, err := e.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return notFound(err, "following logs of container "+id)
	}
	return followLines(ctx, rc, "container "+id, line)
}

// FollowSwarmServiceLogs calls line with each line the tasks of a Swarm
// service write to stdout and stderr, from the first, until ctx ends (the
// stream goes on after a task ended, while the service is there).
func (e *Engine) FollowSwarmServiceLogs(ctx context.Context, id string, line func(string)) error {
	rc, err := e.api.ServiceLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return notFound(err, "following logs of Swarm service "+id)
	}
	return followLines(ctx, rc, "Swarm service "+id, line)
}

// followLines splits a multiplexed log stream (no TTY) into lines for line
// until it ends or ctx does, and closes it.
func followLines(ctx context.Context, rc io.ReadCloser, what string, line func(string)) error {
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		_ = pw.CloseWithError(err)
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line(strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("following logs of %s: %w", what, err)
	}
	return nil
}
