package credentials

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHelperAnswer(t *testing.T) {
	exit1 := exitError(t)
	for _, tc := range []struct {
		name    string
		stdout  string
		runErr  error
		want    Credential
		noEntry bool
		errSub  string
	}{
		{name: "login", stdout: `{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}`, want: Credential{Username: "u", Password: "s"}},
		{name: "identity token", stdout: `{"ServerURL":"x","Username":"<token>","Secret":"refresh"}`, want: Credential{IdentityToken: "refresh"}},
		{name: "not found", stdout: "credentials not found in native keychain\n", runErr: exit1, noEntry: true},
		{name: "empty answer", stdout: `{"ServerURL":"x","Username":"","Secret":""}`, noEntry: true},
		{name: "helper error", stdout: "keychain locked", runErr: exit1, errSub: "keychain locked"},
		{name: "garbage", stdout: "hello", errSub: "not the helper protocol"},
		{name: "secret-looking failure output is not quoted", stdout: `{"Secret":"s3cr3t"}`, runErr: exit1, errSub: "output not shown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHelperAnswer("docker-credential-x", []byte(tc.stdout), tc.runErr)
			switch {
			case tc.noEntry:
				assert.ErrorIs(t, err, errHelperNoEntry)
			case tc.errSub != "":
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.errSub)
				assert.NotContains(t, err.Error(), "s3cr3t")
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

// exitError returns a real *exec.ExitError with exit code 1.
func exitError(t *testing.T) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit 1").Run()
	require.Error(t, err)
	return err
}

// fakeHelper puts docker-credential-<name> on PATH: a shell script that
// records the server URL it was asked for and runs body.
func fakeHelper(t *testing.T, name, body string) (asked string) {
	t.Helper()
	dir := t.TempDir()
	asked = filepath.Join(dir, "asked")
	script := "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat > " + asked + "\n" + body + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, HelperPrefix+name), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return asked
}

func TestRunHelperProtocol(t *testing.T) {
	asked := fakeHelper(t, "fake", `echo '{"ServerURL":"x","Username":"alice","Secret":"pw"}'`)
	c, err := runHelper(context.Background(), "fake", DockerHubKey, time.Second*10)
	require.NoError(t, err)
	assert.Equal(t, Credential{Username: "alice", Password: "pw"}, c)
	got, err := os.ReadFile(asked)
	require.NoError(t, err)
	assert.Equal(t, DockerHubKey, string(got), "the server URL goes on stdin")

	_, err = runHelper(context.Background(), "missing-helper", "x", time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "docker-credential-missing-helper is not on PATH")
}

func TestRunHelperTimeout(t *testing.T) {
	fakeHelper(t, "slow", "exec sleep 5")
	start := time.Now()
	_, err := runHelper(context.Background(), "slow", "x", 200*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer within 200ms")
	assert.Less(t, time.Since(start), 4*time.Second)
}

func TestRunHelperTimeoutKillsTheHelpersChildrenToo(t *testing.T) {
	// The helper leaves a child that holds its stdout: killing the helper
	// alone leaves the pipe open, and the wait for its output with it.
	fakeHelper(t, "forks", "sleep 8 &\nsleep 8")
	start := time.Now()
	_, err := runHelper(context.Background(), "forks", "x", 300*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer within 300ms")
	assert.Less(t, time.Since(start), 3*time.Second, "the timeout bounds the whole call")
}

func TestRunHelperDoesNotPassDswapSecrets(t *testing.T) {
	t.Setenv("DSWAP_TOKEN", "api-token")
	t.Setenv("DSWAP_GITHUB_SECRET", "hook-secret")
	t.Setenv("DSWAP_REGISTRY_PASSWORD", "registry-pw")
	t.Setenv("HOME_FOR_HELPER", "kept")
	fakeHelper(t, "env", `printf '{"Username":"u","Secret":"%s|%s|%s|%s"}' "$DSWAP_TOKEN" "$DSWAP_GITHUB_SECRET" "$DSWAP_REGISTRY_PASSWORD" "$HOME_FOR_HELPER"`)
	c, err := runHelper(context.Background(), "env", "x", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "|||kept", c.Password, "a helper sees the environment without dswap's own secrets")
}
