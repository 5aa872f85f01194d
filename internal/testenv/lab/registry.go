package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/go-connections/nat"
	"golang.org/x/crypto/bcrypt"
)

// RegistryBinEnv names the environment variable that points at a static
// registry binary (CNCF distribution, built by scripts/tools.sh).
const RegistryBinEnv = "DSWAP_REGISTRY_BIN"

// RegistryBinFromEnv returns $DSWAP_REGISTRY_BIN, or "".
func RegistryBinFromEnv() string { return os.Getenv(RegistryBinEnv) }

const (
	// registryRepo is the repository of the registry image, tagged with a
	// prefix of the binary's SHA-256 like the traefik image, so an
	// unchanged binary's image is reused across runs.
	registryRepo      = "dswap-lab/registry"
	registryHashLabel = "dswaplab.registry-sha256"
	registryPort      = nat.Port("5000/tcp")
	// registryAuthDir holds the htpasswd file in the image.
	registryAuthDir       = "/auth"
	registryReadyTimeout  = 30 * time.Second
	registryRealm         = "dswap-lab"
	registryConfigInImage = "/etc/registry/config.yml"
)

// registryConfig is the registry's config file. Everything a test may
// want to see is set through the REGISTRY_* environment instead, which
// overrides it; the file only has to exist.
const registryConfig = "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"

// Registry is a container registry run by the lab: CNCF distribution in a
// container FROM scratch, its port published on 127.0.0.1 (the Engine
// trusts registries on 127.0.0.0/8 without TLS), with htpasswd
// authentication for one user. Its storage lives in the container and goes
// with it.
type Registry struct {
	// Host is the registry part of image references: 127.0.0.1:<port>.
	Host     string
	Username string
	Password string
	ID       string // container ID

	lab   *Lab
	image string // the registry image with this registry's htpasswd

	closeOnce sync.Once
	closeErr  error
}

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// Bin is the static registry binary; see RegistryBinFromEnv.
	Bin string
	// Username is the one user; "" means "dswap".
	Username string
}

// StartRegistry starts a registry with a fresh random password and waits
// until it answers. Close removes it; Lab.Close does too.
func (l *Lab) StartRegistry(ctx context.Context, opts RegistryOptions) (*Registry, error) {
	if opts.Bin == "" {
		return nil, fmt.Errorf("starting registry: no registry binary given; run scripts/tools.sh and set %s", RegistryBinEnv)
	}
	if opts.Username == "" {
		opts.Username = "dswap"
	}
	r := &Registry{Username: opts.Username, Password: randomSecret(), lab: l}
	if err := r.start(ctx, opts.Bin); err != nil {
		if cerr := r.Close(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return r, nil
}

func (r *Registry) start(ctx context.Context, bin string) error {
	l := r.lab
	base, err := l.ensureRegistryImage(ctx, bin)
	if err != nil {
		return err
	}
	imageRef, err := r.buildAuthImage(ctx, base)
	if err != nil {
		return err
	}
	name := l.Prefix + "-registry-" + randomSecret()[:6]
	created, err := l.Docker.ContainerCreate(ctx,
		&container.Config{
			Image: imageRef,
			Env: []string{
				"REGISTRY_AUTH=htpasswd",
				"REGISTRY_AUTH_HTPASSWD_REALM=" + registryRealm,
				"REGISTRY_AUTH_HTPASSWD_PATH=" + registryAuthDir + "/htpasswd",
				"REGISTRY_HTTP_ADDR=:5000",
				"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry",
				// The registry exports traces over OTLP to localhost by
				// default; there is no collector, so only noise would come
				// of it.
				"OTEL_TRACES_EXPORTER=none",
			},
			Labels:       map[string]string{LabelKey: l.Prefix, roleLabel: "registry"},
			ExposedPorts: nat.PortSet{registryPort: {}},
		},
		&container.HostConfig{
			PortBindings: nat.PortMap{registryPort: {{HostIP: "127.0.0.1", HostPort: ""}}},
		},
		nil, nil, name)
	if err != nil {
		return fmt.Errorf("starting registry: creating container %s: %w", name, err)
	}
	r.ID = created.ID
	l.track(created.ID)
	if err := l.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("starting registry: starting container %s: %w\n%s", name, err, l.containerLogs(ctx, created.ID, 20))
	}
	inspect, err := l.Docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		return fmt.Errorf("starting registry: inspecting %s: %w", name, err)
	}
	if inspect.NetworkSettings == nil {
		return fmt.Errorf("starting registry: container %s has no network settings", name)
	}
	port, err := hostPort(inspect.NetworkSettings.Ports, registryPort, "127.0.0.1")
	if err != nil {
		return fmt.Errorf("starting registry: %w", err)
	}
	r.Host = "127.0.0.1:" + port
	waitCtx, cancel := context.WithTimeout(ctx, registryReadyTimeout)
	defer cancel()
	if err := r.waitReady(waitCtx); err != nil {
		return fmt.Errorf("starting registry %s: %w\n%s", name, err, l.containerLogs(ctx, created.ID, 20))
	}
	l.logf("registry %s started at %s (user %s)", name, r.Host, r.Username)
	return nil
}

// waitReady polls /v2/ until the registry asks for credentials, which
// says it is up and its authentication is on.
func (r *Registry) waitReady(ctx context.Context) error {
	return waitRegistry(ctx, r.Host, http.StatusUnauthorized, "authentication on", nil)
}

// waitRegistry polls the registry's /v2/ at addr until it answers want
// (what says why in the error), or exited, when given, is closed.
func waitRegistry(ctx context.Context, addr string, want int, why string, exited <-chan struct{}) error {
	url := "http://" + addr + "/v2/"
	return pollUntil(ctx, 100*time.Millisecond, func(ctx context.Context) (error, error) {
		select {
		case <-exited:
			return nil, errors.New("the registry exited")
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err), nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s: %s, want %d (%s)", url, resp.Status, want, why), nil
		}
		return nil, nil
	})
}

// ensureRegistryImage returns an image holding bin, building it only when
// no image for this exact binary exists.
func (l *Lab) ensureRegistryImage(ctx context.Context, bin string) (string, error) {
	sum, err := fileSHA256(bin)
	if err != nil {
		return "", fmt.Errorf("starting registry: %w", err)
	}
	tag := registryRepo + ":" + sum[:16]
	if inspect, err := l.Docker.ImageInspect(ctx, tag); err == nil && inspect.Config != nil && inspect.Config.Labels[registryHashLabel] == sum {
		return tag, nil
	} else if err != nil && !isNotFound(err) {
		return "", fmt.Errorf("starting registry: inspecting image %s: %w", tag, err)
	}
	l.logf("building registry image %s from %s", tag, bin)
	dockerfile := strings.Join([]string{
		"FROM scratch",
		"COPY registry /registry",
		"COPY config.yml " + registryConfigInImage,
		"LABEL " + registryHashLabel + "=" + sum,
		"EXPOSE 5000",
		`ENTRYPOINT ["/registry"]`,
		`CMD ["serve", "` + registryConfigInImage + `"]`,
	}, "\n") + "\n"
	files := []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(dockerfile)},
		{Name: "config.yml", Mode: 0o644, Data: []byte(registryConfig)},
		{Name: "registry", Mode: 0o755, Path: bin},
	}
	if _, err := buildImage(ctx, l.Docker, files, []string{tag}, l.log); err != nil {
		return "", fmt.Errorf("starting registry: %w", err)
	}
	return tag, nil
}

// buildAuthImage adds this registry's htpasswd file to the registry image.
// Baking it in leaves nothing on the host to clean up: the image is the
// lab's, and Lab.Close removes it with the container.
func (r *Registry) buildAuthImage(ctx context.Context, base string) (string, error) {
	l := r.lab
	entry, err := htpasswdLine(r.Username, r.Password)
	if err != nil {
		return "", fmt.Errorf("starting registry: %w", err)
	}
	r.image = l.Prefix + "-registry:" + randomSecret()[:8]
	l.mu.Lock()
	l.images = append(l.images, r.image)
	l.mu.Unlock()
	files := []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte("FROM " + base + "\nCOPY htpasswd " + registryAuthDir + "/htpasswd\n")},
		{Name: "htpasswd", Mode: 0o644, Data: []byte(entry)},
	}
	if _, err := buildImage(ctx, l.Docker, files, []string{r.image}, io.Discard); err != nil {
		return "", fmt.Errorf("starting registry: %w", err)
	}
	return r.image, nil
}

// htpasswdLine returns one htpasswd entry with a bcrypt hash, the only
// hash the registry accepts.
func htpasswdLine(user, password string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing the registry password: %w", err)
	}
	return user + ":" + string(hash) + "\n", nil
}

func randomSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Ref returns the reference of repo:tag in this registry.
func (r *Registry) Ref(repo, tag string) string {
	return r.Host + "/" + repo + ":" + tag
}

// authHeader returns the registry's login as the Engine's X-Registry-Auth
// header value.
func (r *Registry) authHeader() (string, error) {
	return registry.EncodeAuthConfig(registry.AuthConfig{Username: r.Username, Password: r.Password, ServerAddress: r.Host})
}

// Push pushes the local image source to ref (an image reference in this
// registry) and returns the pushed manifest's digest. The local tag ref is
// removed again afterwards, so that a later `docker pull` or `dswap up` of
// ref really pulls; source stays.
func (r *Registry) Push(ctx context.Context, source, ref string) (string, error) {
	d := r.lab.Docker
	if err := d.ImageTag(ctx, source, ref); err != nil {
		return "", fmt.Errorf("pushing %s as %s: tagging: %w", source, ref, err)
	}
	defer func() { _, _ = d.ImageRemove(context.WithoutCancel(ctx), ref, image.RemoveOptions{}) }()
	auth, err := r.authHeader()
	if err != nil {
		return "", err
	}
	rc, err := d.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	defer rc.Close()
	digest, err := readPushStream(rc, ref)
	if err != nil {
		return "", err
	}
	r.lab.logf("pushed %s as %s (%s)", source, ref, digest)
	return digest, nil
}

// readPushStream reads an image push's progress stream to its end and
// returns the digest of the pushed manifest, or the error the stream
// reports.
func readPushStream(r io.Reader, ref string) (string, error) {
	dec := json.NewDecoder(r)
	var digest string
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
			Aux *struct {
				Digest string `json:"Digest"`
			} `json:"aux"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("pushing %s: reading progress: %w", ref, err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return "", fmt.Errorf("pushing %s: %s", ref, m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return "", fmt.Errorf("pushing %s: %s", ref, m.Error)
		}
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	}
	if digest == "" {
		return "", fmt.Errorf("pushing %s: the Engine reported no digest", ref)
	}
	return digest, nil
}

// Close removes the registry container and its image. It is safe to call
// more than once, and Lab.Close does the same.
func (r *Registry) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		ctx := context.WithoutCancel(ctx)
		var errs []error
		if r.ID != "" {
			err := r.lab.Docker.ContainerRemove(ctx, r.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing registry container: %w", err))
			}
		}
		if r.image != "" {
			_, err := r.lab.Docker.ImageRemove(ctx, r.image, image.RemoveOptions{Force: true, PruneChildren: true})
			if err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing registry image: %w", err))
			}
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}
