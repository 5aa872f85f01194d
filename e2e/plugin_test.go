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
)

// pluginConfig is a docker CLI configuration directory of the test's own,
// with dswap installed as the plugin docker-swap by scripts/install-plugin.sh,
// so the machine's ~/.docker is untouched.
func pluginConfig(t *testing.T) string {
	t.Helper()
	cfg := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "../scripts/install-plugin.sh", suite.dswap)
	install.Env = withEnv(os.Environ(), "DOCKER_CONFIG="+cfg)
	out, err := install.CombinedOutput()
	require.NoError(t, err, "install-plugin.sh: %s", out)
	require.FileExists(t, filepath.Join(cfg, "cli-plugins", "docker-swap"))
	return cfg
}

// runDocker runs the docker CLI with the plugin's configuration and the
// lab's Traefik settings, as a user's shell would.
func runDocker(t *testing.T, env []string, args ...string) dswapRun {
	t.Helper()
	return runWithLabEnv(t, "docker", "docker", false, env, args...)
}

// TestPluginSwapUnderLoad runs `docker --context lab swap up` through the
// machine's docker CLI: the CLI finds the plugin in DOCKER_CONFIG, dswap
// answers its metadata call, resolves the context's Engine endpoint from
// the context store itself (the CLI passes only its command line), and
// swaps the service under load without a failed request.
func TestPluginSwapUnderLoad(t *testing.T) {
	needSuite(t)
	cfg := pluginConfig(t)

	// The context reaches the Engine through a socket path of its own (a
	// link to the real one), and a second context through a path with no
	// Engine: the plugin must go where the context says.
	sockDir := t.TempDir()
	require.NoError(t, os.Symlink("/var/run/docker.sock", filepath.Join(sockDir, "docker.sock")))
	env := []string{"DOCKER_CONFIG=" + cfg, "DOCKER_HOST=", "DOCKER_CONTEXT="}
	dockerIn := func(args ...string) {
		c := exec.Command("docker", args...)
		c.Env = withEnv(os.Environ(), env...)
		out, err := c.CombinedOutput()
		require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	}
	dockerIn("context", "create", "lab", "--docker", "host=unix://"+filepath.Join(sockDir, "docker.sock"))
	dockerIn("context", "create", "nowhere", "--docker", "host=unix://"+filepath.Join(sockDir, "none.sock"))

	// The docker CLI lists the plugin from its metadata.
	help := runDocker(t, env, "--help")
	assert.Regexp(t, `swap\*?\s+Zero-downtime container swaps behind Traefik`, help.stdout)
	ver := runDocker(t, env, "swap", "version")
	require.Equal(t, 0, ver.code)
	assert.Contains(t, ver.stdout, "go: go1.")

	wrong := runDocker(t, env, "--context", "nowhere", "swap", "status")
	assert.NotEqual(t, 0, wrong.code)
	assert.Contains(t, wrong.stderr, filepath.Join(sockDir, "none.sock"), "the plugin must use the context's endpoint")

	svc := startService(t, "plugin", serviceOpts{})
	dockerIn("context", "use", "lab")
	ld := svc.load(t, 8, "delay=50ms")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"))
	require.Eventually(t, func() bool { return ld.Count() >= 32 }, 30*time.Second, 10*time.Millisecond)
	run := runDocker(t, env, "swap", "up", image(imgV2), "--service", svc.name, "--drain", "5s", "--output", "json")
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+32 }, 30*time.Second, 10*time.Millisecond)
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	require.Equal(t, 0, run.code, "docker swap up failed:\n%s", run.stderr)
	assert.Equal(t, "swapped", run.result.Result)
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	t.Logf("docker swap up through the plugin: %d requests, %d failed, %d hung", rep.Total, rep.Failed, rep.Hung)

	status := runDocker(t, env, "swap", "status", svc.name)
	require.Equal(t, 0, status.code)
	assert.Contains(t, status.stdout, image(imgV2))
}
