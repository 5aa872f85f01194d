package swarmbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// The benchmark's service: one router on one host name, as in package
// bench.
const (
	serviceName = "bench"
	serviceHost = "bench.localhost"
	appPort     = "8080"
)

// swapper is one strategy's side of a run.
type swapper interface {
	// start creates the service at the first image, routed.
	start(ctx context.Context, first string) error
	// swap runs the strategy's command to image to; a failed command is
	// Swap.Err, an error return means the run cannot go on.
	swap(ctx context.Context, i int, to string) (Swap, error)
}

// commandTimeout bounds one swap's command: three tasks one after the
// other, each with a health check and Swarm's monitor period, on a loaded
// machine.
const commandTimeout = 5 * time.Minute

// routeLabels are the service's Traefik labels; enable says whether
// Traefik's own swarm provider routes it.
func routeLabels(enable bool) []string {
	return []string{
		"traefik.enable=" + fmt.Sprint(enable),
		"traefik.http.routers." + serviceName + ".rule=Host(`" + serviceHost + "`)",
		"traefik.http.routers." + serviceName + ".entrypoints=web",
		"traefik.http.services." + serviceName + ".loadbalancer.server.port=" + appPort,
	}
}

// createService creates the service on the Swarm's overlay network with
// the given labels and waits until all its replicas run.
func createService(ctx context.Context, s *lab.Swarm, replicas int, image string, labels []string) error {
	args := []string{"service", "create", "--detach", "--name", serviceName,
		"--replicas", fmt.Sprint(replicas), "--network", s.Network, "--no-resolve-image"}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	args = append(args, image)
	if out, err := s.Docker(ctx, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker service create: %v: %s", err, out)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		addrs, err := s.RunningAddrs(waitCtx, serviceName)
		if err == nil && len(addrs) == replicas {
			return nil
		}
		select {
		case <-waitCtx.Done():
			return fmt.Errorf("waiting for %d running tasks of %s: %w (last: %d, %v)", replicas, serviceName, waitCtx.Err(), len(addrs), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// serviceUpdate is the baseline: Swarm's rolling update, start-first,
// behind Traefik's swarm provider.
type serviceUpdate struct {
	s        *lab.Swarm
	replicas int
}

func (b *serviceUpdate) start(ctx context.Context, first string) error {
	return createService(ctx, b.s, b.replicas, first, routeLabels(true))
}

func (b *serviceUpdate) swap(ctx context.Context, i int, to string) (Swap, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	sw := Swap{Index: i, Start: time.Now()}
	out, err := b.s.Docker(ctx, "service", "update", "--update-order", "start-first",
		"--image", to, "--no-resolve-image", "--detach=false", serviceName).CombinedOutput()
	sw.End = time.Now()
	if err != nil {
		sw.Err = fmt.Errorf("docker service update: %v", err)
		sw.Output = tailLines(string(out), 20)
	}
	return sw, nil
}

// dswapSwapper runs dswap up against the manager, with Traefik's file
// provider (no swarm provider in its Swarm). dswap sync routes the service
// first, before any load.
type dswapSwapper struct {
	s        *lab.Swarm
	replicas int
	bin      string
}

func (d *dswapSwapper) env() []string {
	return append(os.Environ(),
		"DOCKER_HOST="+d.s.Manager.Socket,
		"DSWAP_ROUTES_DIR="+d.s.RoutesDir,
		"DSWAP_TRAEFIK_API="+d.s.TraefikAPI,
		"DSWAP_TRAEFIK_CONTAINER="+d.s.TraefikName,
	)
}

func (d *dswapSwapper) start(ctx context.Context, first string) error {
	// The drain window is the baseline's stop grace period, Swarm's
	// default of 10 s.
	if err := createService(ctx, d.s, d.replicas, first, append(routeLabels(false), "dswap.drain=10s")); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, err := d.run(ctx, "sync", serviceName)
	if err != nil {
		return fmt.Errorf("routing the service with dswap sync: %v\n%s", err, tailLines(out, 30))
	}
	return nil
}

func (d *dswapSwapper) swap(ctx context.Context, i int, to string) (Swap, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	sw := Swap{Index: i, Start: time.Now()}
	out, err := d.run(ctx, "up", to, "--service", serviceName, "--output", "json")
	sw.End = time.Now()
	if err != nil {
		sw.Err = fmt.Errorf("dswap up: %v", err)
		sw.Output = tailLines(out, 20)
	}
	return sw, nil
}

func (d *dswapSwapper) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = d.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
