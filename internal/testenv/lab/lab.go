// Package lab runs a local, throw-away test environment on a real Docker
// Engine: a user-defined bridge network, a Traefik container whose file
// provider watches a host directory, and app containers built FROM scratch
// from the testapp binary (lab/testapp). It exists for dswap's e2e tests,
// its demo command and its benchmark; dswap itself never imports it.
//
// Everything a lab creates is named with Options.Prefix and labelled
// dswap.lab=<prefix>, so that Close can find and remove it again. Published
// ports are bound to 127.0.0.1 only, and Traefik is started with its
// version check and usage reporting off, so the lab sends no traffic
// beyond this machine.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// LabelKey labels every container (and app image) of a lab with its prefix.
const LabelKey = "dswaplab"

// closeTimeout bounds Close, which runs on a context detached from the
// caller's so that cleanup still happens after a test's context has ended.
const closeTimeout = 2 * time.Minute

// prefixPattern is the Engine's rule for container names, which every name
// the lab derives from the prefix must satisfy.
var prefixPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Options configures New.
type Options struct {
	// Prefix is a unique name prefix for everything created, e.g.
	// "dswap-e2e-<random>".
	Prefix string
	// TraefikBin is the path to a static traefik binary; see
	// TraefikBinFromEnv.
	TraefikBin string
	// TraefikArgs are appended to the lab's Traefik command line.
	TraefikArgs []string
	// TraefikV2 says TraefikBin is Traefik v2.11: the lab leaves out the
	// static flags v2 lacks, and does not tag its image as the lab's
	// default Traefik image (dswap-lab/traefik:local).
	TraefikV2 bool
	// DockerProvider also turns on Traefik's docker provider, the way
	// label-based rollout tools use it: it routes containers labelled
	// traefik.enable=true on the lab network, and reads the Engine through
	// the Docker socket mounted read-only into Traefik's container. It is
	// off by default because dswap owns its routes through the file
	// provider; the benchmark uses it to measure the label-based baseline.
	DockerProvider bool
	// RoutesTmpfs, when set (a size such as "1m"), makes the routes
	// directory a tmpfs of that size, so that a test can fill it; it
	// needs root (mount), and Close unmounts it.
	RoutesTmpfs string
	// DockerHost, when set, is the Engine the lab runs on (an Engine of
	// the test's own, unix:///...), instead of DOCKER_HOST's.
	DockerHost string
	// PublishIP is the address Traefik's ports are published on (default
	// 127.0.0.1); an Engine in a network namespace of its own publishes on
	// its end of the veth, which this namespace reaches.
	PublishIP string
	// Restart gives Traefik and the apps the restart policy
	// unless-stopped, so that they come back after a daemon restart.
	Restart bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Lab is a running lab. Its fields describe what New created.
type Lab struct {
	Docker      *client.Client
	Prefix      string
	Network     string // user-defined bridge network shared by Traefik and apps
	RoutesDir   string // host directory bind-mounted into Traefik at /routes
	TraefikID   string
	TraefikName string
	WebURL      string // http://127.0.0.1:<port> of Traefik's "web" entrypoint
	APIURL      string // http://127.0.0.1:<port> of Traefik's API and ping

	log       io.Writer
	tmpfs     bool   // RoutesDir is a tmpfs the lab mounted
	publishIP string // where Traefik's ports are published
	restart   bool   // containers get restart policy unless-stopped

	mu         sync.Mutex
	networkID  string
	containers []string // IDs created by the lab, removed even if labels fail
	images     []string // tags built by BuildApp, removed by Close
	closed     bool
}

// New creates the network, the routes directory and the Traefik container,
// and waits until Traefik's API answers. On failure it removes whatever it
// had created already.
func New(ctx context.Context, opts Options) (*Lab, error) {
	if !prefixPattern.MatchString(opts.Prefix) {
		return nil, fmt.Errorf("starting lab: prefix %q must match %s", opts.Prefix, prefixPattern)
	}
	if opts.TraefikBin == "" {
		return nil, fmt.Errorf("starting lab: no traefik binary given; set %s to a static traefik binary", TraefikBinEnv)
	}
	if st, err := os.Stat(opts.TraefikBin); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("starting lab: traefik binary %q (from %s or Options.TraefikBin) is missing or not a file: %v", opts.TraefikBin, TraefikBinEnv, err)
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.DockerHost != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.DockerHost))
	}
	docker, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("starting lab: creating Docker client: %w", err)
	}
	if _, err := docker.Ping(ctx); err != nil {
		_ = docker.Close()
		return nil, fmt.Errorf("starting lab: reaching the Docker Engine: %w", err)
	}
	l := &Lab{
		Docker:      docker,
		Prefix:      opts.Prefix,
		Network:     opts.Prefix + "-net",
		TraefikName: opts.Prefix + "-traefik",
		log:         logw,
		publishIP:   opts.PublishIP,
		restart:     opts.Restart,
	}
	if l.publishIP == "" {
		l.publishIP = "127.0.0.1"
	}
	if err := l.setUp(ctx, opts); err != nil {
		if cerr := l.Close(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", cerr))
		}
		return nil, err
	}
	return l, nil
}

// setUp does New's work after the client is connected.
func (l *Lab) setUp(ctx context.Context, opts Options) error {
	dir, err := os.MkdirTemp("", l.Prefix+"-routes-")
	if err != nil {
		return fmt.Errorf("starting lab: creating routes directory: %w", err)
	}
	l.RoutesDir = dir
	// Traefik may run as any user inside its container; it must be able to
	// read the directory.
	if opts.RoutesTmpfs != "" {
		if err := mountTmpfs(ctx, dir, opts.RoutesTmpfs); err != nil {
			return fmt.Errorf("starting lab: %w", err)
		}
		l.tmpfs = true
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("starting lab: making routes directory %s readable: %w", dir, err)
	}

	l.logf("creating network %s", l.Network)
	resp, err := l.Docker.NetworkCreate(ctx, l.Network, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelKey: l.Prefix},
	})
	if err != nil {
		return fmt.Errorf("starting lab: creating network %s: %w", l.Network, err)
	}
	l.mu.Lock()
	l.networkID = resp.ID
	l.mu.Unlock()

	imageRef, err := l.ensureTraefikImage(ctx, opts.TraefikBin, !opts.TraefikV2)
	if err != nil {
		return err
	}
	return l.startTraefik(ctx, imageRef, opts)
}

// logf writes one progress line.
func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.log, "lab: "+format+"\n", args...)
}

// track remembers a container ID for Close.
func (l *Lab) track(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.containers = append(l.containers, id)
}

// Close removes the lab's containers (everything labelled dswap.lab=<prefix>
// and everything the lab started itself), its network, its routes directory
// and the images built by BuildApp, then closes the Docker client. It keeps
// going after an error and returns all of them. It runs detached from ctx's
// cancellation (bounded by its own timeout) so that a cancelled test context
// does not leave containers behind. Calling it again does nothing.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	ids := append([]string(nil), l.containers...)
	images := append([]string(nil), l.images...)
	networkID := l.networkID
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	var errs []error

	listed, err := l.Docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelKey+"="+l.Prefix)),
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("closing lab: listing containers labelled %s=%s: %w", LabelKey, l.Prefix, err))
	}
	for _, c := range listed {
		ids = append(ids, c.ID)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		err := l.Docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("closing lab: removing container %s: %w", shortID(id), err))
		}
	}

	if networkID != "" {
		if err := l.Docker.NetworkRemove(ctx, networkID); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("closing lab: removing network %s: %w", l.Network, err))
		}
	}
	if l.tmpfs {
		// After Traefik's container is gone, nothing holds the mount.
		if err := unmountTmpfs(ctx, l.RoutesDir); err != nil {
			errs = append(errs, fmt.Errorf("closing lab: %w", err))
		}
	}
	if l.RoutesDir != "" {
		if err := os.RemoveAll(l.RoutesDir); err != nil {
			errs = append(errs, fmt.Errorf("closing lab: removing routes directory %s: %w", l.RoutesDir, err))
		}
	}
	for _, tag := range images {
		_, err := l.Docker.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("closing lab: removing image %s: %w", tag, err))
		}
	}
	if err := l.Docker.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing lab: closing Docker client: %w", err))
	}
	l.logf("closed lab %s", l.Prefix)
	return errors.Join(errs...)
}

// isNotFound reports whether err is the Engine's "no such object"; the
// Docker client classifies its errors with containerd's errdefs.
func isNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}

// shortID shortens a container or image ID for messages.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
