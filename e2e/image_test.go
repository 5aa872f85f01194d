package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// TestPullWithConfigFileCredentials: the image is only in a registry that
// wants a login, and the login is in $DOCKER_CONFIG/config.json auths, as
// `docker login` leaves it. dswap pulls it and swaps under load.
func TestPullWithConfigFileCredentials(t *testing.T) {
	reg := testRegistry(t)
	r := newRepo(t, reg)
	// An image with a layer of its own, pushed and then removed here, so
	// that the pull downloads it and its progress shows.
	unique := uniqueImage(t, image(imgV2))
	r.push(t, unique, "v2")
	dockerCLI(t, "rmi", unique)
	cfgDir := isolateCredentials(t)
	cfg := writeDockerConfig(t, cfgDir, map[string]any{"auths": map[string]any{reg.Host: authEntry(reg.Username, reg.Password)}})
	svc := startService(t, "pullcfg", serviceOpts{})

	run, rep := svc.swapUnderLoad(t, 8, "", r.ref("v2"), "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Contains(t, run.stderr, "config file "+cfg+" auths", "says where the login came from")
	for _, event := range []string{"Already exists", "Pulling fs layer", "Download complete", "Pull complete"} {
		assert.Contains(t, run.stderr, `"msg":"`+event+`","phase":"pull","layer":`, "one log line per layer state change")
	}
	assert.LessOrEqual(t, strings.Count(run.stderr, `"msg":"Downloading"`), 2, "not a line per byte update")

	require.Len(t, run.result.New, 1)
	labels := labelsOf(t, run.result.New[0])
	assert.Equal(t, imageID(t, r.ref("v2")), labels["dswap.image.id"])
	assert.True(t, strings.HasPrefix(labels["dswap.image.digest"], r.name+"@sha256:"), labels["dswap.image.digest"])
	assert.Equal(t, image(imgV1), labels["dswap.previous.image"])
	assert.Equal(t, imageID(t, image(imgV1)), labels["dswap.previous.image-id"])
	assertNoSecret(t, reg, []dswapRun{run}, run.result.New[0])
}

// TestPullWithCredentialHelper: config.json names a credential helper for
// the registry (credHelpers), and a wrong auths entry for it too; the
// helper wins, as with the docker CLI.
func TestPullWithCredentialHelper(t *testing.T) {
	reg := testRegistry(t)
	r := newRepo(t, reg)
	r.push(t, image(imgV2), "v2")
	cfgDir := isolateCredentials(t)
	cfg := writeDockerConfig(t, cfgDir, map[string]any{
		"auths":       map[string]any{reg.Host: authEntry(reg.Username, "not-the-password")},
		"credHelpers": map[string]string{reg.Host: "dswaptest"},
	})
	logins := filepath.Join(cfgDir, "helper-logins.json")
	require.NoError(t, os.WriteFile(logins, []byte(`{"`+reg.Host+`": {"Username": "`+reg.Username+`", "Secret": "`+reg.Password+`"}}`), 0o600))
	asked := filepath.Join(cfgDir, "helper-asked")
	t.Setenv("DSWAPTEST_CREDENTIALS", logins)
	t.Setenv("DSWAPTEST_CREDHELPER_LOG", asked)
	t.Setenv("PATH", credHelperDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	svc := startService(t, "pullhelper", serviceOpts{})

	run, rep := svc.swapUnderLoad(t, 8, "", r.ref("v2"), "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Contains(t, run.stderr, "credential helper docker-credential-dswaptest (credHelpers in "+cfg+")")
	got, err := os.ReadFile(asked)
	require.NoError(t, err, "the helper was never run")
	assert.Equal(t, reg.Host+"\n", string(got), "the helper is asked for the registry's host:port")
	assertNoSecret(t, reg, []dswapRun{run}, run.result.New[0])
}

// TestPullWithWrongCredentialsChangesNothing: a refused login names the
// registry and where the login came from, exits 2, and leaves the service
// as it was: the old container serves, no new container, same route.
func TestPullWithWrongCredentialsChangesNothing(t *testing.T) {
	reg := testRegistry(t)
	r := newRepo(t, reg)
	r.push(t, image(imgV2), "v2")
	svc := startService(t, "pullwrong", serviceOpts{})
	route := svc.routeFile(t)
	before := states(svc.containers(t))

	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, cfgDir string) []string // returns env for dswap
		source string
	}{
		{
			name: "config file",
			setup: func(t *testing.T, cfgDir string) []string {
				writeDockerConfig(t, cfgDir, map[string]any{"auths": map[string]any{reg.Host: authEntry(reg.Username, "wrong-"+reg.Password)}})
				return nil
			},
			source: "config file {cfg} auths",
		},
		{
			name: "environment",
			setup: func(t *testing.T, _ string) []string {
				return []string{"DSWAP_REGISTRY_USER=" + reg.Username, "DSWAP_REGISTRY_PASSWORD=wrong-" + reg.Password}
			},
			source: "DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD",
		},
		{
			name:   "none",
			setup:  func(t *testing.T, _ string) []string { return nil },
			source: "none (no docker config file at {cfg})",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgDir := isolateCredentials(t)
			env := tc.setup(t, cfgDir)
			run := runDswapEnv(t, env, "up", r.ref("v2"), "--service", svc.name, "--output", "json")
			assert.Equal(t, 2, run.code, "bad input: nothing was changed")
			assert.Equal(t, "error", run.result.Result)
			msg := run.result.Error
			assert.Contains(t, msg, "registry "+reg.Host+" refused access")
			assert.Contains(t, msg, "Credentials tried: "+strings.ReplaceAll(tc.source, "{cfg}", filepath.Join(cfgDir, "config.json")))
			assert.Contains(t, msg, "nothing was changed")
			assertNoSecret(t, reg, []dswapRun{run})
			assert.NotContains(t, run.stdout+run.stderr, "wrong-"+reg.Password)

			assert.Equal(t, before, states(svc.containers(t)), "no container created, the old one untouched")
			assert.Equal(t, route, svc.routeFile(t), "route untouched")
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ld := svc.load(t, 2, "")
	require.NoError(t, ld.WaitVersion(ctx, "v1"), "the old version still serves")
	assertNoFailedRequests(t, ld.Stop())
}

// TestPullErrorsSayWhatToFix: an image the registry does not have and a
// registry nobody listens on are told apart, exit 2 and change nothing.
func TestPullErrorsSayWhatToFix(t *testing.T) {
	reg := testRegistry(t)
	r := newRepo(t, reg)
	r.push(t, image(imgV2), "v2")
	svc := startService(t, "pullerr", serviceOpts{})
	route := svc.routeFile(t)
	before := states(svc.containers(t))
	isolateCredentials(t)
	t.Setenv("DSWAP_REGISTRY_USER", reg.Username)
	t.Setenv("DSWAP_REGISTRY_PASSWORD", reg.Password)

	for _, tc := range []struct{ name, ref, want string }{
		{"unknown tag", r.ref("no-such-tag"), "registry " + reg.Host + " has no such image"},
		{"unknown repository", reg.Host + "/no-such-repo-" + randomHex(3) + ":v2", "registry " + reg.Host + " has no such image"},
		// Port 1 on loopback: nothing listens there.
		{"unreachable registry", "127.0.0.1:1/app:v2", "the Docker Engine cannot reach registry 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := svc.up(t, tc.ref)
			assert.Equal(t, 2, run.code)
			assert.Contains(t, run.result.Error, tc.want)
			assert.Contains(t, run.result.Error, "nothing was changed")
			assert.Equal(t, before, states(svc.containers(t)))
			assert.Equal(t, route, svc.routeFile(t))
			assertNoSecret(t, reg, []dswapRun{run})
		})
	}
}

// TestPullByDigest: `dswap up repo@sha256:...` pulls exactly that
// manifest, records its digest, and a second up of the same digest is a
// no-op.
func TestPullByDigest(t *testing.T) {
	reg := testRegistry(t)
	r := newRepo(t, reg)
	byDigest := r.push(t, image(imgV2), "v2")
	isolateCredentials(t)
	loginFile := filepath.Join(t.TempDir(), "registry-login")
	require.NoError(t, os.WriteFile(loginFile, []byte(reg.Username+":"+reg.Password+"\n"), 0o600))
	svc := startService(t, "pulldigest", serviceOpts{})

	run, rep := svc.swapUnderLoad(t, 8, "", byDigest, "--drain", "5s", "--registry-auth-file", loginFile)
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Contains(t, run.stderr, "--registry-auth-file "+loginFile)
	require.Len(t, run.result.New, 1)
	labels := labelsOf(t, run.result.New[0])
	assert.Equal(t, byDigest, labels["dswap.image.digest"])
	assert.Equal(t, imageID(t, image(imgV2)), labels["dswap.image.id"])

	again := svc.up(t, byDigest, "--registry-auth-file", loginFile)
	require.Equal(t, 0, again.code, again.stderr)
	assert.Equal(t, "noop", again.result.Result, "the service already runs that digest")
	assertNoSecret(t, reg, []dswapRun{run, again}, run.result.New[0])
}

// TestPullAlwaysPicksUpARepushedTag: a moving tag (latest) re-pushed with
// a new image. --pull missing keeps the local copy (no-op); --pull always
// asks the registry, gets the new image ID and swaps.
func TestPullAlwaysPicksUpARepushedTag(t *testing.T) {
	reg := testRegistry(t)
	r := newRepo(t, reg)
	isolateCredentials(t)
	t.Setenv("DSWAP_REGISTRY_USER", reg.Username)
	t.Setenv("DSWAP_REGISTRY_PASSWORD", reg.Password)
	svc := startService(t, "pullalways", serviceOpts{})
	latest := r.ref("latest")

	// latest is v1, which the service runs: pulled, same image ID, no-op.
	r.push(t, image(imgV1), "latest")
	first := svc.up(t, latest)
	require.Equal(t, 0, first.code, first.stderr)
	assert.Equal(t, "noop", first.result.Result)
	assert.Contains(t, first.stderr, `"msg":"pulling"`, "latest was not local, so it was pulled")

	// latest moves to v2 in the registry; the local latest is still v1.
	r.push(t, image(imgV2), "latest")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, suite.lab.Docker.ImageTag(ctx, image(imgV1), latest))
	missing := svc.up(t, latest, "--pull", "missing")
	require.Equal(t, 0, missing.code, missing.stderr)
	assert.Equal(t, "noop", missing.result.Result, "--pull missing uses the local latest")
	assert.NotContains(t, missing.stderr, `"msg":"pulling"`)

	run, rep := svc.swapUnderLoad(t, 8, "", latest, "--pull", "always", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Equal(t, "swapped", run.result.Result)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	assert.Positive(t, rep.ByVersion["v2"])
	require.Len(t, run.result.New, 1)
	assert.Equal(t, imageID(t, image(imgV2)), labelsOf(t, run.result.New[0])["dswap.image.id"])
	assertNoSecret(t, reg, []dswapRun{first, missing, run}, run.result.New[0])
}

// buildContext writes a build context: a multi-stage Dockerfile whose
// "app" stage is the lab's v1 image with VERSION from a build argument and
// the context copied to /ctx, and whose last stage cannot build (a scratch
// image has no shell), so only --target app succeeds.
func buildContext(t *testing.T) (dir, dockerfile string) {
	t.Helper()
	dir = t.TempDir()
	files := map[string]string{
		".dockerignore":         "secret.txt\n*.tmp\ndeploy\n",
		"kept.txt":              "kept\n",
		"secret.txt":            "must not reach the Engine\n",
		"scratch.tmp":           "x\n",
		"deploy/app.Dockerfile": "FROM " + image(imgV1) + " AS app\nARG V\nENV VERSION=$V\nCOPY . /ctx/\n\nFROM app AS broken\nRUN false\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir, filepath.Join(dir, "deploy", "app.Dockerfile")
}

// builtTag is a fresh tag for an image dswap builds, removed at the end.
func builtTag(t *testing.T) string {
	t.Helper()
	tag := suite.lab.Prefix + "-app:built-" + randomHex(3)
	t.Cleanup(func() { removeImage(t, tag) })
	return tag
}

// removeImage removes an image a test built, with the containers still
// made from it: cleanups run last-registered first, so the service that
// runs the image may not be gone yet, and an image in use cannot be
// removed. A leftover image is an error: tests leave the Engine as they
// found it.
func removeImage(t *testing.T, ref string) {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "ancestor="+ref).Output()
	if err == nil {
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
	}
	if out, err := exec.Command("docker", "rmi", ref).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such image") {
		t.Errorf("removing image %s: %v: %s", ref, err, out)
	}
}

// TestBuildHonoursDockerignoreAndBuildArgs: `dswap up TAG --build DIR`
// builds offline (FROM a local image) with -f, --target and --build-arg,
// sends only what .dockerignore allows, and swaps under load to the built
// image, which answers the version the build argument gave it.
func TestBuildHonoursDockerignoreAndBuildArgs(t *testing.T) {
	svc := startService(t, "build", serviceOpts{})
	dir, dockerfile := buildContext(t)
	tag := builtTag(t)

	run, rep := svc.swapUnderLoad(t, 8, "", tag, "--build", dir, "-f", dockerfile, "--target", "app", "--build-arg", "V=v2-built", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2-built")
	assert.Positive(t, rep.ByVersion["v2-built"], "the build argument reached the image")
	assert.Contains(t, run.stderr, `"phase":"build"`, "build output goes through the log")
	assert.Contains(t, run.stderr, "Step 1/", "one log line per build output line")

	require.Len(t, run.result.New, 1)
	newName := run.result.New[0]
	assert.Equal(t, "kept\n", copyOut(t, newName, "/ctx/kept.txt"))
	for _, ignored := range []string{"/ctx/secret.txt", "/ctx/scratch.tmp"} {
		err := exec.Command("docker", "cp", newName+":"+ignored, "-").Run()
		assert.Error(t, err, "%s is in .dockerignore, so it must not be in the image", ignored)
	}
	labels := labelsOf(t, newName)
	assert.Equal(t, imageID(t, tag), labels["dswap.image.id"])
	assert.NotContains(t, labels, "dswap.image.digest", "a locally built image has no repository digest")
	assert.Equal(t, image(imgV1), labels["dswap.previous.image"])
}

// TestBrokenBuildChangesNothing: a build that fails exits 2 with the
// build's own error; no container is created, the route is untouched, and
// the old version serves.
func TestBrokenBuildChangesNothing(t *testing.T) {
	svc := startService(t, "badbuild", serviceOpts{})
	route := svc.routeFile(t)
	before := states(svc.containers(t))
	dir := t.TempDir()
	// missing.txt exists but .dockerignore keeps it out of the context.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("missing.txt\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "missing.txt"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+image(imgV1)+"\nCOPY missing.txt /\n"), 0o644))
	tag := builtTag(t)

	run := svc.up(t, tag, "--build", dir)
	assert.Equal(t, 2, run.code)
	assert.Equal(t, "error", run.result.Result)
	assert.Contains(t, run.result.Error, "building "+tag+" from "+dir+" failed")
	assert.Contains(t, run.result.Error, "missing.txt", "the build's own error")
	assert.Contains(t, run.result.Error, "nothing was changed")
	assert.Equal(t, before, states(svc.containers(t)))
	assert.Equal(t, route, svc.routeFile(t))
	assert.Error(t, exec.Command("docker", "image", "inspect", tag).Run(), "no image was tagged")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ld := svc.load(t, 2, "")
	require.NoError(t, ld.WaitVersion(ctx, "v1"))
	assertNoFailedRequests(t, ld.Stop())
}

// copyOut returns a file's content from a container (`docker cp`).
func copyOut(t *testing.T, container, path string) string {
	t.Helper()
	dir := t.TempDir()
	dockerCLI(t, "cp", container+":"+path, dir)
	b, err := os.ReadFile(filepath.Join(dir, filepath.Base(path)))
	require.NoError(t, err)
	return string(b)
}

// states reduces a listing to what must not change: which containers
// exist and whether they run.
func states(cs []lab.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" "+c.ID+" "+c.State)
	}
	return out
}

// uniqueImage builds an image FROM base with one layer no other image has
// and returns its tag. Once it is pushed and the tag removed, that layer
// exists only in the registry.
func uniqueImage(t *testing.T, base string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY unique.txt /unique.txt\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "unique.txt"), []byte(randomHex(16)), 0o644))
	tag := builtTag(t)
	dockerCLI(t, "build", "-q", "-t", tag, dir)
	return tag
}
