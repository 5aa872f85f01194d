package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

const (
	// traefikRepo is the repository of the shared traefik image. It is
	// tagged "local" and with a prefix of the binary's SHA-256, so that a
	// changed binary gets a new image while an unchanged one is reused.
	traefikRepo = "dswap-lab/traefik"
	// traefikHashLabel records the full SHA-256 of the binary in the image.
	traefikHashLabel = "dswaplab.traefik-sha256"
	// roleLabel tells the lab's own containers apart in `docker ps`.
	roleLabel = "dswaplab.role"
	// traefikReadyTimeout bounds the wait for Traefik's API after start.
	traefikReadyTimeout = 30 * time.Second
	// traefikLogTail is how many log lines a start failure quotes.
	traefikLogTail = 40
	// dockerSocket is where the Engine's socket is mounted inside Traefik
	// for the docker provider, which is also the provider's default
	// endpoint.
	dockerSocket = "/var/run/docker.sock"
)

// traefikPorts are the container ports published on 127.0.0.1.
var (
	webPort = nat.Port("80/tcp")
	apiPort = nat.Port("8080/tcp")
)

// traefikArgs returns Traefik's command line. The version check and
// anonymous usage reporting are switched off explicitly because either
// would send traffic off this machine. Colours are off so that log lines
// quoted in error messages are plain text, and the dashboard is off because
// a binary built from source without its web assets logs an error for it.
// A non-empty dockerNetwork turns on the docker provider for containers
// that opt in with traefik.enable=true, reached over that network.
func traefikArgs(extra []string, dockerNetwork string) []string {
	args := []string{
		"--entryPoints.web.address=:80",
		"--entryPoints.traefik.address=:8080",
		"--api.insecure=true",
		"--api.dashboard=false",
		"--ping=true",
		"--providers.file.directory=/routes",
		"--providers.file.watch=true",
		"--log.level=INFO",
		"--log.noColor=true",
		"--accesslog=false",
		"--metrics.prometheus=true",
		"--metrics.prometheus.addRoutersLabels=true",
		"--metrics.prometheus.addServicesLabels=true",
		// Traefik keeps idle keep-alive connections to a server for 90 s
		// by default, also after the server left the route; a container
		// lingering for its open connections (--keep-connections) counts
		// them like any client's, so the lab closes them sooner.
		"--serversTransport.forwardingTimeouts.idleConnTimeout=3s",
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
	}
	if dockerNetwork != "" {
		args = append(args,
			"--providers.docker=true",
			"--providers.docker.exposedByDefault=false",
			"--providers.docker.network="+dockerNetwork,
		)
	}
	return append(args, extra...)
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// traefikImageTag is the content-addressed tag for a binary's image.
func traefikImageTag(sha256hex string) string {
	return traefikRepo + ":" + sha256hex[:16]
}

// ensureTraefikImage returns the reference of an image holding bin at
// /traefik, building it only when no image for this exact binary exists.
// tagLocal also tags it dswap-lab/traefik:local, the image tests that write
// their own compose files run.
func (l *Lab) ensureTraefikImage(ctx context.Context, bin string, tagLocal bool) (string, error) {
	sum, err := fileSHA256(bin)
	if err != nil {
		return "", fmt.Errorf("starting lab: %w", err)
	}
	tag := traefikImageTag(sum)
	local := traefikRepo + ":local"
	if inspect, err := l.Docker.ImageInspect(ctx, tag); err == nil && inspect.Config != nil && inspect.Config.Labels[traefikHashLabel] == sum {
		l.logf("reusing traefik image %s", tag)
		if !tagLocal {
			return tag, nil
		}
		if err := l.Docker.ImageTag(ctx, tag, local); err != nil {
			return "", fmt.Errorf("starting lab: tagging %s as %s: %w", tag, local, err)
		}
		return tag, nil
	} else if err != nil && !isNotFound(err) {
		return "", fmt.Errorf("starting lab: inspecting traefik image %s: %w", tag, err)
	}
	l.logf("building traefik image %s from %s", tag, bin)
	files := []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(renderTraefikDockerfile(sum))},
		{Name: "traefik", Mode: 0o755, Path: bin},
	}
	tags := []string{tag}
	if tagLocal {
		tags = append(tags, local)
	}
	if _, err := buildImage(ctx, l.Docker, files, tags, l.log); err != nil {
		return "", fmt.Errorf("starting lab: %w", err)
	}
	return tag, nil
}

// startTraefik runs the Traefik container, reads back its published ports
// and waits until its API answers.
func (l *Lab) startTraefik(ctx context.Context, imageRef string, opts Options) error {
	// Fixed host ports, picked free now, survive a restart of the Traefik
	// container (Docker gives a restarted container new random ports), as
	// the fixed ports of a real deployment do.
	webHost, err := freeLoopbackPort()
	if err != nil {
		return fmt.Errorf("starting lab: %w", err)
	}
	apiHost, err := freeLoopbackPort()
	if err != nil {
		return fmt.Errorf("starting lab: %w", err)
	}
	mounts := []mount.Mount{{
		Type:     mount.TypeBind,
		Source:   l.RoutesDir,
		Target:   "/routes",
		ReadOnly: true,
	}}
	dockerNetwork := ""
	if opts.DockerProvider {
		socket, err := hostDockerSocket()
		if err != nil {
			return fmt.Errorf("starting lab: %w", err)
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: socket, Target: dockerSocket, ReadOnly: true})
		dockerNetwork = l.Network
	}
	cmd := traefikArgs(opts.TraefikArgs, dockerNetwork)
	if opts.TraefikV2 {
		cmd = traefikV2Args(cmd)
	}
	created, err := l.Docker.ContainerCreate(ctx,
		&container.Config{
			Image:        imageRef,
			Cmd:          cmd,
			Labels:       map[string]string{LabelKey: l.Prefix, roleLabel: "traefik"},
			ExposedPorts: nat.PortSet{webPort: {}, apiPort: {}},
		},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(l.Network),
			PortBindings: nat.PortMap{
				webPort: {{HostIP: l.publishIP, HostPort: webHost}},
				apiPort: {{HostIP: l.publishIP, HostPort: apiHost}},
			},
			Mounts:        mounts,
			RestartPolicy: l.restartPolicy(),
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{l.Network: {}}},
		nil, l.TraefikName)
	if err != nil {
		return fmt.Errorf("starting lab: creating traefik container %s: %w", l.TraefikName, err)
	}
	l.TraefikID = created.ID
	l.track(created.ID)
	if err := l.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("starting lab: starting traefik container %s: %w\n%s", l.TraefikName, err, l.TraefikLogs(ctx, traefikLogTail))
	}
	inspect, err := l.Docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		return fmt.Errorf("starting lab: inspecting traefik container %s: %w", l.TraefikName, err)
	}
	if inspect.NetworkSettings == nil {
		return fmt.Errorf("starting lab: traefik container %s has no network settings", l.TraefikName)
	}
	webHostPort, err := hostPort(inspect.NetworkSettings.Ports, webPort, l.publishIP)
	if err != nil {
		return fmt.Errorf("starting lab: traefik container %s: %w", l.TraefikName, err)
	}
	apiHostPort, err := hostPort(inspect.NetworkSettings.Ports, apiPort, l.publishIP)
	if err != nil {
		return fmt.Errorf("starting lab: traefik container %s: %w", l.TraefikName, err)
	}
	l.WebURL = "http://" + l.publishIP + ":" + webHostPort
	l.APIURL = "http://" + l.publishIP + ":" + apiHostPort
	l.logf("traefik %s started: web %s, api %s, routes %s", l.TraefikName, l.WebURL, l.APIURL, l.RoutesDir)

	waitCtx, cancel := context.WithTimeout(ctx, traefikReadyTimeout)
	defer cancel()
	if err := l.waitTraefikReady(waitCtx); err != nil {
		return fmt.Errorf("starting lab: waiting for traefik %s: %w\ntraefik's last log lines:\n%s", l.TraefikName, err, l.TraefikLogs(ctx, traefikLogTail))
	}
	return nil
}

// hostDockerSocket returns the host path of the Engine's Unix socket, from
// DOCKER_HOST when it names one, else the default. A TCP DOCKER_HOST cannot
// be mounted into a container, so it is refused with a message.
func hostDockerSocket() (string, error) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		return dockerSocket, nil
	}
	if path, ok := strings.CutPrefix(host, "unix://"); ok && path != "" {
		return path, nil
	}
	return "", fmt.Errorf("the docker provider needs the Engine's Unix socket to mount into Traefik, but DOCKER_HOST is %q", host)
}

// hostPort returns the host port on ip the Engine assigned to port.
func hostPort(ports nat.PortMap, port nat.Port, ip string) (string, error) {
	for _, b := range ports[port] {
		if b.HostIP == ip && b.HostPort != "" {
			return b.HostPort, nil
		}
	}
	return "", fmt.Errorf("no %s host port published for %s (bindings: %v)", ip, port, ports[port])
}

// restartPolicy is the restart policy of the lab's containers.
func (l *Lab) restartPolicy() container.RestartPolicy {
	if l.restart {
		return container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
	}
	return container.RestartPolicy{}
}

// WaitTraefik waits until Traefik's API answers (after a daemon restart).
func (l *Lab) WaitTraefik(ctx context.Context) error {
	waitCtx, cancel := context.WithTimeout(ctx, traefikReadyTimeout)
	defer cancel()
	if err := l.waitTraefikReady(waitCtx); err != nil {
		return fmt.Errorf("waiting for traefik %s: %w\n%s", l.TraefikName, err, l.TraefikLogs(ctx, traefikLogTail))
	}
	return nil
}

// waitTraefikReady polls /ping and /api/http/routers until both answer 200,
// failing early when the container stops running.
func (l *Lab) waitTraefikReady(ctx context.Context) error {
	urls := []string{l.APIURL + "/ping", l.APIURL + "/api/http/routers"}
	return pollUntil(ctx, 100*time.Millisecond, func(ctx context.Context) (error, error) {
		notYet := all200(ctx, urls)
		if notYet == nil {
			return nil, nil
		}
		inspect, err := l.Docker.ContainerInspect(ctx, l.TraefikID)
		if err == nil && inspect.State != nil && !inspect.State.Running {
			return notYet, fmt.Errorf("traefik container is %s (exit code %d) instead of running; last probe: %v", inspect.State.Status, inspect.State.ExitCode, notYet)
		}
		return notYet, nil
	})
}

// probeClient is used for readiness probes: short timeout, no proxy (the
// targets are on 127.0.0.1) and no connection reuse between probes.
var probeClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// all200 returns nil when every URL answers GET with 200.
func all200(ctx context.Context, urls []string) error {
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("building request for %s: %w", u, err)
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	return nil
}

// pollUntil calls check at once and then on every tick until it reports
// neither a pending reason nor a fatal error, returns a fatal error, or ctx
// ends. The last pending reason is part of the deadline error, so that a
// timeout says what was still missing.
func pollUntil(ctx context.Context, every time.Duration, check func(context.Context) (pending, fatal error)) error {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		pending, fatal := check(ctx)
		if fatal != nil {
			return fatal
		}
		if pending == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last state: %v", ctx.Err(), pending)
		case <-ticker.C:
		}
	}
}

// TraefikLogs returns the last tail lines of Traefik's output, or a note
// saying why they could not be read; it is meant for error messages.
func (l *Lab) TraefikLogs(ctx context.Context, tail int) string {
	if l.TraefikID == "" {
		return "(traefik was not started)"
	}
	return l.containerLogs(ctx, l.TraefikID, tail)
}

// freeLoopbackPort returns a TCP port on 127.0.0.1 that nothing listens on
// right now.
func freeLoopbackPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}
