package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
)

// A Swarm's registry (SwarmOptions.Registry) is the registry binary run as
// a process in the manager's network namespace, listening on the manager's
// veth address: every node reaches that address (the workers through this
// namespace, as they reach the manager's Swarm port), and so does this
// namespace, directly over the veth. It has no TLS and no login, so every
// node's Engine is started with --insecure-registry for it. A process, not
// a container: the manager's Engine is the Swarm's, and a registry task
// there would be one more thing for the tests' Swarm to place and stop.
const (
	swarmRegistryPort         = "5000"
	swarmRegistryReadyTimeout = 30 * time.Second
	swarmRegistryStopTimeout  = 10 * time.Second
	swarmRegistryLogTail      = 20
)

// manifestMediaTypes are the manifest types a registry may hold for an
// image the Engine pushed; asking for all of them gets the digest of the
// manifest as stored, which is the one the Engine pins.
var manifestMediaTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// swarmRegistry is the running registry process.
type swarmRegistry struct {
	dir  string // config.yml, data/ and registry.log
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// swarmRegistryConfig is the registry's config: storage under dataDir,
// listening on addr, quiet.
func swarmRegistryConfig(addr, dataDir string) string {
	return strings.Join([]string{
		"version: 0.1",
		"log:",
		"  level: warn",
		"  accesslog:",
		"    disabled: true",
		"storage:",
		"  filesystem:",
		"    rootdirectory: " + dataDir,
		"http:",
		"  addr: " + addr,
		"",
	}, "\n")
}

// insecureRegistryArgs are the dockerd arguments that let an Engine pull
// from and push to the registry at addr over plain HTTP.
func insecureRegistryArgs(addr string) []string {
	return []string{"--insecure-registry", addr}
}

// startSwarmRegistry runs bin in the manager's namespace with its files in
// dir and waits until it answers at addr. On failure it stops what it
// started; dir is the caller's to remove.
func startSwarmRegistry(ctx context.Context, bin string, manager *OwnEngine, addr, dir string) (*swarmRegistry, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, fmt.Errorf("starting the swarm's registry: %w", err)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("starting the swarm's registry: %w", err)
	}
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(swarmRegistryConfig(addr, data)), 0o600); err != nil {
		return nil, fmt.Errorf("starting the swarm's registry: %w", err)
	}
	log, err := os.OpenFile(filepath.Join(dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting the swarm's registry: %w", err)
	}
	args := append(manager.Wrap(), bin, "serve", config)
	r := &swarmRegistry{dir: dir, log: log, cmd: exec.Command(args[0], args[1:]...)}
	// The registry exports traces over OTLP to localhost by default;
	// there is no collector, so only noise would come of it.
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	r.cmd.Stdout, r.cmd.Stderr = log, log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting the swarm's registry: %s: %w", strings.Join(args, " "), err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	waitCtx, cancel := context.WithTimeout(ctx, swarmRegistryReadyTimeout)
	defer cancel()
	if err := r.waitReady(waitCtx, addr); err != nil {
		err = fmt.Errorf("starting the swarm's registry at %s: %w\nits log (tail):\n%s", addr, err, r.logTail())
		if serr := r.stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, err
	}
	return r, nil
}

// waitReady polls /v2/ until it answers 200 (no login asked), or the
// process exits.
func (r *swarmRegistry) waitReady(ctx context.Context, addr string) error {
	return waitRegistry(ctx, addr, http.StatusOK, "no authentication", r.done)
}

// logTail is the end of the registry's output, for error messages.
func (r *swarmRegistry) logTail() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "registry.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > swarmRegistryLogTail {
		lines = lines[len(lines)-swarmRegistryLogTail:]
	}
	return strings.Join(lines, "\n")
}

// stop ends the registry with SIGTERM, and SIGKILL if it is still there
// after swarmRegistryStopTimeout. Calling it again does nothing.
func (r *swarmRegistry) stop() error {
	defer func() { _ = r.log.Close() }()
	select {
	case <-r.done:
		return nil
	default:
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(swarmRegistryStopTimeout)
	defer t.Stop()
	select {
	case <-r.done:
		return nil
	case <-t.C:
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		return fmt.Errorf("the swarm's registry did not stop within %s of SIGTERM; killed it", swarmRegistryStopTimeout)
	}
}

// RegistryRef is the reference of repo:tag in the Swarm's registry.
func (s *Swarm) RegistryRef(repo, tag string) string {
	return s.Registry + "/" + repo + ":" + tag
}

// PushApp builds a test app image on the manager only, tagged img.Tag (a
// reference in the Swarm's registry, see RegistryRef), and pushes it from
// there. It returns the pushed manifest's digest as the Engine reported
// it. The other nodes have not got the image: Swarm's tasks there pull it.
func (s *Swarm) PushApp(ctx context.Context, img AppImage) (string, error) {
	if s.Registry == "" {
		return "", fmt.Errorf("pushing app image %s: the Swarm has no registry; start it with SwarmOptions.Registry", img.Tag)
	}
	if !strings.HasPrefix(img.Tag, s.Registry+"/") {
		return "", fmt.Errorf("pushing app image %s: the tag is not in the Swarm's registry %s; use RegistryRef", img.Tag, s.Registry)
	}
	if err := s.buildApp(ctx, img, []int{0}); err != nil {
		return "", err
	}
	c, err := engineClient(s.Manager)
	if err != nil {
		return "", fmt.Errorf("pushing app image %s: %w", img.Tag, err)
	}
	defer c.Close()
	// The Engine wants an X-Registry-Auth header even for a registry
	// without login: an empty one.
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{})
	if err != nil {
		return "", err
	}
	rc, err := c.ImagePush(ctx, img.Tag, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return "", fmt.Errorf("pushing %s from the manager: %w", img.Tag, err)
	}
	defer rc.Close()
	digest, err := readPushStream(rc, img.Tag)
	if err != nil {
		return "", err
	}
	s.logf("pushed %s from the manager (%s)", img.Tag, digest)
	return digest, nil
}

// RegistryDigest asks the Swarm's registry itself (not an Engine) for the
// digest of the manifest ref names now.
func (s *Swarm) RegistryDigest(ctx context.Context, ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %s: %w", ref, err)
	}
	tagged, ok := named.(reference.Tagged)
	if !ok || reference.Domain(named) != s.Registry {
		return "", fmt.Errorf("image reference %s: want a tag in the Swarm's registry %s", ref, s.Registry)
	}
	url := "http://" + s.Registry + "/v2/" + reference.Path(named) + "/manifests/" + tagged.Tag()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", strings.Join(manifestMediaTypes, ", "))
	resp, err := probeClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("HEAD %s: %w", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HEAD %s: %s", url, resp.Status)
	}
	digest := resp.Header.Get("Docker-Content-Digest")
	if digest == "" {
		return "", fmt.Errorf("HEAD %s: no Docker-Content-Digest in the answer", url)
	}
	return digest, nil
}
