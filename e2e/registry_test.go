package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// The registry and the credential helper are set up on first use, so that
// tests that do not pull pay nothing. The registry is a lab container, so
// the lab's Close in TestMain removes it with its image and storage.
var pulls struct {
	registryOnce sync.Once
	registry     *lab.Registry
	registryErr  error

	helperOnce sync.Once
	helperDir  string // holds docker-credential-dswaptest
	helperErr  error
}

var errNoRegistryBin = errors.New("no registry binary: run scripts/tools.sh and set " + lab.RegistryBinEnv)

// testRegistry returns the suite's registry on 127.0.0.1, starting it on
// first use. Under CI a missing registry binary fails the test.
func testRegistry(t *testing.T) *lab.Registry {
	t.Helper()
	needSuite(t)
	pulls.registryOnce.Do(func() {
		bin := lab.RegistryBinFromEnv()
		if bin == "" {
			pulls.registryErr = errNoRegistryBin
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pulls.registry, pulls.registryErr = suite.lab.StartRegistry(ctx, lab.RegistryOptions{Bin: bin})
	})
	if errors.Is(pulls.registryErr, errNoRegistryBin) && os.Getenv("CI") != "true" {
		t.Skip(pulls.registryErr)
	}
	require.NoError(t, pulls.registryErr)
	return pulls.registry
}

// credHelperDir returns a directory holding docker-credential-dswaptest,
// built from internal/testenv/lab/credhelper on first use next to the dswap binary (which
// TestMain removes).
func credHelperDir(t *testing.T) string {
	t.Helper()
	pulls.helperOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(suite.dswap), "credhelpers")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "docker-credential-dswaptest"), "../internal/testenv/lab/credhelper").CombinedOutput()
		if err != nil {
			pulls.helperErr = fmt.Errorf("building the credential helper: %v\n%s", err, out)
			return
		}
		pulls.helperDir = dir
	})
	require.NoError(t, pulls.helperErr)
	return pulls.helperDir
}

// repo is one repository in the test registry, unique to a test. Every
// local image of it (tags and digests the Engine pulled) is removed when
// the test ends.
type repo struct {
	reg  *lab.Registry
	name string // host/name, without tag
}

func newRepo(t *testing.T, reg *lab.Registry) *repo {
	t.Helper()
	r := &repo{reg: reg, name: reg.Host + "/app-" + randomHex(3)}
	t.Cleanup(func() { r.removeLocal(t) })
	return r
}

func (r *repo) ref(tag string) string { return r.name + ":" + tag }

// push pushes a local image to tag and returns its digest reference.
func (r *repo) push(t *testing.T, source, tag string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	digest, err := r.reg.Push(ctx, source, r.ref(tag))
	require.NoError(t, err)
	return r.name + "@" + digest
}

func (r *repo) removeLocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := suite.lab.Docker.ImageList(ctx, dockerimage.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", r.name))})
	if err != nil {
		t.Logf("listing local images of %s: %v", r.name, err)
		return
	}
	for _, img := range list {
		for _, ref := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
			if strings.HasPrefix(ref, r.name+":") || strings.HasPrefix(ref, r.name+"@") {
				// Removing the last tag can take the digest with it.
				if _, err := suite.lab.Docker.ImageRemove(ctx, ref, dockerimage.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
					t.Logf("removing %s: %v", ref, err)
				}
			}
		}
	}
}

// imageID returns the ID of a local image.
func imageID(t *testing.T, ref string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inspect, err := suite.lab.Docker.ImageInspect(ctx, ref)
	require.NoError(t, err)
	return inspect.ID
}

// isolateCredentials gives the dswap processes of this test an empty
// docker config directory and none of the DSWAP_REGISTRY_* variables, so
// that only what the test sets up can supply a login. It returns the
// config directory.
func isolateCredentials(t *testing.T) string {
	t.Helper()
	for _, k := range []string{"DSWAP_REGISTRY_AUTH", "DSWAP_REGISTRY_AUTH_FILE", "DSWAP_REGISTRY_USER", "DSWAP_REGISTRY_PASSWORD"} {
		if old, ok := os.LookupEnv(k); ok {
			require.NoError(t, os.Unsetenv(k))
			t.Cleanup(func() { _ = os.Setenv(k, old) })
		}
	}
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

// writeDockerConfig writes config.json into dir.
func writeDockerConfig(t *testing.T, dir string, cfg any) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// authEntry is an auths entry as `docker login` writes it.
func authEntry(user, password string) map[string]string {
	return map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
}

// assertNoSecret checks that a password shows nowhere: not in dswap's
// output, nor in `docker inspect` of the given containers (labels, env),
// nor in the base64 form config.json keeps it in.
func assertNoSecret(t *testing.T, reg *lab.Registry, runs []dswapRun, containers ...string) {
	t.Helper()
	forms := []string{reg.Password, base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))}
	for _, run := range runs {
		for _, secret := range forms {
			assert.NotContains(t, run.stdout+run.stderr, secret, "dswap printed the registry password")
		}
	}
	for _, c := range containers {
		out := dockerCLI(t, "inspect", c)
		for _, secret := range forms {
			assert.NotContains(t, out, secret, "container %s carries the registry password", c)
		}
	}
}

// labelsOf returns a container's labels.
func labelsOf(t *testing.T, container string) map[string]string {
	t.Helper()
	var labels map[string]string
	require.NoError(t, json.Unmarshal([]byte(dockerCLI(t, "inspect", "--format", "{{json .Config.Labels}}", container)), &labels))
	return labels
}
