package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

func TestReadServeConfig(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("from-file\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		err   string
		check func(t *testing.T, c *serveConfig)
	}{
		{name: "TCP without a token is refused", args: []string{"--listen", "0.0.0.0:7070"}, err: "refusing to serve the API on 0.0.0.0:7070 without a token"},
		{name: "the default address also needs one", err: "without a token"},
		{name: "token from the environment", env: map[string]string{"DSWAP_TOKEN": " t0k "}, check: func(t *testing.T, c *serveConfig) {
			assert.Equal(t, "t0k", c.token)
			assert.Equal(t, "127.0.0.1:7070", c.listen.String())
			assert.True(t, c.watch)
			assert.Equal(t, 500*time.Millisecond, c.debounce)
			assert.Equal(t, engine.PullMissing, c.pull)
		}},
		{name: "token file wins", args: []string{"--token-file", tokenFile}, env: map[string]string{"DSWAP_TOKEN": "env"}, check: func(t *testing.T, c *serveConfig) {
			assert.Equal(t, "from-file", c.token)
		}},
		{name: "an empty token file is an error", args: []string{"--token-file", empty}, err: "is empty"},
		{name: "a missing token file is an error", args: []string{"--token-file", filepath.Join(dir, "nope")}, err: "no such file"},
		{name: "a Unix socket may go without", args: []string{"--listen", "unix:///run/dswap.sock"}, check: func(t *testing.T, c *serveConfig) {
			assert.Equal(t, "unix", c.listen.Network)
			assert.Empty(t, c.token)
		}},
		{name: "hooks and polls", args: []string{"--hook", "service=web,image=127.0.0.1:5000/app,tags=v*", "--hook", "service=api,image=ghcr.io/acme/api,repo=acme/api,workflow=release",
			"--poll", "service=web,image=127.0.0.1:5000/app:latest,every=30s", "--github-secret-file", tokenFile},
			env: map[string]string{"DSWAP_TOKEN": "t"}, check: func(t *testing.T, c *serveConfig) {
				require.Len(t, c.hooks, 2)
				assert.Equal(t, "api", c.hooks[1].Service)
				require.Len(t, c.polls, 1)
				assert.Equal(t, 30*time.Second, c.polls[0].Every)
				assert.Equal(t, "from-file", c.githubSecret)
			}},
		{name: "hooks from the environment", env: map[string]string{"DSWAP_TOKEN": "t", "DSWAP_HOOK": "service=web,image=app ; service=api,image=api,tags=v*", "DSWAP_GITHUB_SECRET": "gh"},
			check: func(t *testing.T, c *serveConfig) {
				require.Len(t, c.hooks, 2)
				assert.Equal(t, "gh", c.githubSecret)
			}},
		{name: "a bad hook", args: []string{"--hook", "service=web"}, env: map[string]string{"DSWAP_TOKEN": "t"}, err: "image= is required"},
		{name: "a bad poll", args: []string{"--poll", "service=web,image=app,every=1s"}, env: map[string]string{"DSWAP_TOKEN": "t"}, err: "below the minimum"},
		{name: "a bad listen address", args: []string{"--listen", "http://0.0.0.0:1"}, err: "--listen"},
		{name: "a bad pull policy", args: []string{"--pull", "sometimes"}, env: map[string]string{"DSWAP_TOKEN": "t"}, err: "want missing, always or never"},
		{name: "watch off", args: []string{"--watch=false"}, env: map[string]string{"DSWAP_TOKEN": "t"}, check: func(t *testing.T, c *serveConfig) { assert.False(t, c.watch) }},
		{name: "a bad debounce", env: map[string]string{"DSWAP_TOKEN": "t", "DSWAP_DEBOUNCE": "soon"}, err: "DSWAP_DEBOUNCE"},
		{name: "a bad log level", args: []string{"--log-level", "loud"}, env: map[string]string{"DSWAP_TOKEN": "t"}, err: "--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"DSWAP_TOKEN", "DSWAP_HOOK", "DSWAP_POLL", "DSWAP_GITHUB_SECRET", "DSWAP_REGISTRY_TOKEN", "DSWAP_LISTEN", "DSWAP_DEBOUNCE", "DSWAP_TOKEN_FILE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cmd := newServeCommand(newCLI(os.Stdout, os.Stderr))
			require.NoError(t, cmd.Flags().Parse(tc.args))
			c, err := readServeConfig(cmd.Flags(), os.Getenv)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Equal(t, exitBadInput, exitCode(err))
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}
