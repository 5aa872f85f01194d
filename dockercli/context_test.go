package dockercli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeContext stores a context as `docker context create` does.
func writeContext(t *testing.T, configDir, name, host string, tls bool) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	dir := filepath.Join(configDir, "contexts", "meta", id)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	meta := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644))
	if tls {
		tlsDir := filepath.Join(configDir, "contexts", "tls", id, "docker")
		require.NoError(t, os.MkdirAll(tlsDir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(tlsDir, "ca.pem"), []byte("x"), 0o600))
	}
}

func TestResolve(t *testing.T) {
	home := t.TempDir()
	dotDocker := filepath.Join(home, ".docker")
	writeContext(t, dotDocker, "prod", "tcp://10.0.0.5:2376", true)
	writeContext(t, dotDocker, "lab", "unix:///run/lab.sock", false)
	writeContext(t, dotDocker, "remote", "ssh://me@host", false)
	require.NoError(t, os.WriteFile(filepath.Join(dotDocker, "config.json"), []byte(`{"currentContext":"lab"}`), 0o600))
	other := t.TempDir()
	writeContext(t, other, "elsewhere", "unix:///run/elsewhere.sock", false)

	cases := []struct {
		name     string
		env      map[string]string
		opts     GlobalOptions
		context  string
		host     string
		certPath bool
		err      string
	}{
		{name: "config's current context", context: "lab", host: "unix:///run/lab.sock"},
		{name: "DOCKER_CONTEXT beats the config", env: map[string]string{"DOCKER_CONTEXT": "prod"}, context: "prod", host: "tcp://10.0.0.5:2376", certPath: true},
		{name: "DOCKER_HOST beats DOCKER_CONTEXT", env: map[string]string{"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "prod"}, context: "default", host: "unix:///x.sock"},
		{name: "--context beats DOCKER_HOST", env: map[string]string{"DOCKER_HOST": "unix:///x.sock"}, opts: GlobalOptions{Context: "prod"}, context: "prod", host: "tcp://10.0.0.5:2376", certPath: true},
		{name: "--host beats everything", env: map[string]string{"DOCKER_CONTEXT": "prod"}, opts: GlobalOptions{Host: "unix:///h.sock"}, context: "default", host: "unix:///h.sock"},
		{name: "default context leaves the client's default", env: map[string]string{"DOCKER_CONTEXT": "default"}, context: "default", host: ""},
		{name: "DOCKER_CONFIG moves the store", env: map[string]string{"DOCKER_CONFIG": other, "DOCKER_CONTEXT": "elsewhere"}, context: "elsewhere", host: "unix:///run/elsewhere.sock"},
		{name: "--config moves the store", env: map[string]string{"DOCKER_CONTEXT": "elsewhere"}, opts: GlobalOptions{Config: other}, context: "elsewhere", host: "unix:///run/elsewhere.sock"},
		{name: "DOCKER_CONFIG without config.json is default", env: map[string]string{"DOCKER_CONFIG": t.TempDir()}, context: "default"},
		{name: "unknown context", env: map[string]string{"DOCKER_CONTEXT": "nope"}, err: `docker context "nope" does not exist`},
		{name: "ssh is refused with a way out", env: map[string]string{"DOCKER_CONTEXT": "remote"}, err: "over SSH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{Home: home, Options: tc.opts, Getenv: func(k string) string { return tc.env[k] }}
			ep, err := Resolve(env)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.context, ep.Context)
			assert.Equal(t, tc.host, ep.Host)
			assert.Equal(t, tc.certPath, ep.CertPath != "")
		})
	}
}

func TestEnviron(t *testing.T) {
	assert.Nil(t, Endpoint{Context: "default"}.Environ())
	assert.Equal(t, map[string]string{"DOCKER_HOST": "unix:///a.sock"}, Endpoint{Host: "unix:///a.sock"}.Environ())
	assert.Equal(t, map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_CERT_PATH": "/c", "DOCKER_TLS_VERIFY": "1"},
		Endpoint{Host: "tcp://h:2376", CertPath: "/c"}.Environ())
	assert.Equal(t, map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_CERT_PATH": "/c"},
		Endpoint{Host: "tcp://h:2376", CertPath: "/c", SkipTLSVerify: true}.Environ())
}
