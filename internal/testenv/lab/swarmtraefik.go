package lab

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// swarmTraefikPorts are Traefik's entrypoints as published on the
// manager's veth address: the namespace is the Swarm's own, so fixed ports
// cannot clash with anything.
const (
	swarmWebPort = "80"
	swarmAPIPort = "8080"
)

// mountedTraefikDockerfile is an image for a Traefik binary mounted at
// /traefik.
const mountedTraefikDockerfile = "FROM scratch\nEXPOSE 80 8080\nENTRYPOINT [\"/traefik\"]\n"

// engineClient is an API client of one node's Engine.
func engineClient(n *OwnEngine) (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.WithHost(n.Socket), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", n.Socket, err)
	}
	return c, nil
}

// startTraefik builds the Traefik image on the manager and runs it there on
// a bridge network of the manager's Engine with its entrypoints published
// on the manager's veth address, attached to the overlay network too, then
// waits until its API answers.
func (s *Swarm) startTraefik(ctx context.Context, opts SwarmOptions) error {
	c, err := engineClient(s.Manager)
	if err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	defer c.Close()
	bin, err := filepath.Abs(opts.TraefikBin)
	if err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	// The image holds no file: the binary is bind-mounted at /traefik.
	// Copying its 250 MB into every manager's image took longer than the
	// rest of a Swarm's start on a busy machine.
	img := s.Prefix + "-traefik:mounted"
	s.logf("building %s on the manager", img)
	files := []contextFile{{Name: "Dockerfile", Mode: 0o644, Data: []byte(mountedTraefikDockerfile)}}
	if _, err := buildImage(ctx, c, files, []string{img}, prefixed(s.log, "swarm: ")); err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	edge := s.Prefix + "-edge"
	if _, err := s.dockerOut(ctx, s.Manager, "network", "create", "--driver", "bridge", "--label", LabelKey+"="+s.Prefix, edge); err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	args := []string{"create", "--name", s.TraefikName,
		"--label", LabelKey + "=" + s.Prefix, "--label", roleLabel + "=traefik",
		"--network", edge,
		"-p", s.Manager.NSIP + ":" + swarmWebPort + ":80",
		"-p", s.Manager.NSIP + ":" + swarmAPIPort + ":8080",
		"--mount", "type=bind,source=" + s.RoutesDir + ",target=/routes,readonly",
		"--mount", "type=bind,source=" + bin + ",target=/traefik,readonly",
	}
	extra := opts.TraefikArgs
	if opts.SwarmProvider {
		socket := strings.TrimPrefix(s.Manager.Socket, "unix://")
		args = append(args, "--mount", "type=bind,source="+socket+",target="+dockerSocket+",readonly")
		extra = append([]string{
			"--providers.swarm=true",
			"--providers.swarm.exposedByDefault=false",
			"--providers.swarm.network=" + s.Network,
		}, extra...)
	}
	args = append(args, img)
	args = append(args, traefikArgs(extra, "")...)
	if _, err := s.dockerOut(ctx, s.Manager, args...); err != nil {
		return fmt.Errorf("starting swarm: creating traefik: %w", err)
	}
	if _, err := s.dockerOut(ctx, s.Manager, "network", "connect", s.Network, s.TraefikName); err != nil {
		return fmt.Errorf("starting swarm: attaching traefik to %s: %w", s.Network, err)
	}
	if _, err := s.dockerOut(ctx, s.Manager, "start", s.TraefikName); err != nil {
		return fmt.Errorf("starting swarm: starting traefik: %w", err)
	}
	s.TraefikAPI = "http://" + s.Manager.NSIP + ":" + swarmAPIPort
	s.EntryDirect = "http://" + s.Manager.NSIP + ":" + swarmWebPort
	fw, err := Forward(s.Manager.NSIP + ":" + swarmWebPort)
	if err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	s.forward = fw
	s.Entry = fw.URL
	waitCtx, cancel := context.WithTimeout(ctx, traefikReadyTimeout)
	defer cancel()
	urls := []string{s.TraefikAPI + "/ping", s.TraefikAPI + "/api/http/routers"}
	err = pollUntil(waitCtx, 100*time.Millisecond, func(ctx context.Context) (error, error) {
		notYet := all200(ctx, urls)
		if notYet == nil {
			return nil, nil
		}
		if state, err := s.dockerOut(ctx, s.Manager, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", s.TraefikName); err == nil && !strings.HasPrefix(state, "running") {
			return notYet, fmt.Errorf("traefik's container is %s (status, exit code) instead of running", state)
		}
		return notYet, nil
	})
	if err != nil {
		return fmt.Errorf("starting swarm: waiting for traefik: %w\ntraefik's last log lines:\n%s", err, s.TraefikLogs(ctx))
	}
	s.logf("traefik %s: api %s, web %s (and %s)", s.TraefikName, s.TraefikAPI, s.EntryDirect, s.Entry)
	return nil
}

// TraefikLogs returns the last lines of Traefik's output, or why they could
// not be read.
func (s *Swarm) TraefikLogs(ctx context.Context) string {
	out, err := s.Docker(ctx, "logs", "--tail", fmt.Sprint(traefikLogTail), s.TraefikName).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(reading traefik's logs: %v: %s)", err, out)
	}
	return string(out)
}

// BuildApp builds a testapp image on every node, with the same Dockerfile
// as Lab.BuildApp; the images go with the Engines.
func (s *Swarm) BuildApp(ctx context.Context, img AppImage) error {
	all := make([]int, len(s.Nodes))
	for i := range all {
		all[i] = i
	}
	return s.buildApp(ctx, img, all)
}

// buildApp builds a testapp image on the nodes of the given indexes.
func (s *Swarm) buildApp(ctx context.Context, img AppImage, nodes []int) error {
	if img.Tag == "" || img.Version == "" {
		return fmt.Errorf("building app image: AppImage.Tag and Version are required")
	}
	dockerfile, err := renderAppDockerfile(img, s.Prefix)
	if err != nil {
		return fmt.Errorf("building app image: %w", err)
	}
	bin, err := testappBinary(ctx, s.log)
	if err != nil {
		return fmt.Errorf("building app image %s: %w", img.Tag, err)
	}
	files := []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(dockerfile)},
		{Name: "testapp", Mode: 0o755, Data: bin},
	}
	for _, i := range nodes {
		c, err := engineClient(s.Nodes[i])
		if err != nil {
			return fmt.Errorf("building app image %s: %w", img.Tag, err)
		}
		_, err = buildImage(ctx, c, files, []string{img.Tag}, prefixed(s.log, fmt.Sprintf("swarm: node %d: ", i)))
		_ = c.Close()
		if err != nil {
			return fmt.Errorf("building app image %s on node %d: %w", img.Tag, i, err)
		}
	}
	return nil
}

// prefixed writes w's lines with a prefix; the build's own lines already
// start with "lab: ", which it replaces.
func prefixed(w io.Writer, prefix string) io.Writer {
	return prefixWriter{w: w, prefix: prefix}
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if p.w == io.Discard {
		return len(b), nil
	}
	line := strings.TrimPrefix(string(b), "lab: ")
	if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
		return 0, err
	}
	return len(b), nil
}
