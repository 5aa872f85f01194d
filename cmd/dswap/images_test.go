package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/credentials"
)

func upFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	return upFlagsOf(t, args...)
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestRegistryAuth(t *testing.T) {
	file := filepath.Join(t.TempDir(), "login")
	require.NoError(t, os.WriteFile(file, []byte("fileuser:file:pw\n"), 0o600))
	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("hunter2\n"), 0o600))

	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    credentials.Credential
		source  string
		wantErr string
	}{
		{name: "nothing given"},
		{name: "flag", args: []string{"--registry-auth", "u:p"}, want: credentials.Credential{Username: "u", Password: "p"}, source: "--registry-auth"},
		{name: "file flag", args: []string{"--registry-auth-file", file}, want: credentials.Credential{Username: "fileuser", Password: "file:pw"}, source: "--registry-auth-file " + file},
		{name: "flags beat the environment", args: []string{"--registry-auth-file", file}, env: map[string]string{"DSWAP_REGISTRY_AUTH": "e:p"}, want: credentials.Credential{Username: "fileuser", Password: "file:pw"}, source: "--registry-auth-file " + file},
		{name: "env", env: map[string]string{"DSWAP_REGISTRY_AUTH": "e:p"}, want: credentials.Credential{Username: "e", Password: "p"}, source: "DSWAP_REGISTRY_AUTH"},
		{name: "env file", env: map[string]string{"DSWAP_REGISTRY_AUTH_FILE": file}, want: credentials.Credential{Username: "fileuser", Password: "file:pw"}, source: "DSWAP_REGISTRY_AUTH_FILE " + file},
		{name: "user and password", env: map[string]string{"DSWAP_REGISTRY_USER": "ci", "DSWAP_REGISTRY_PASSWORD": "pw:with:colons"}, want: credentials.Credential{Username: "ci", Password: "pw:with:colons"}, source: "DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD"},
		{name: "both flags", args: []string{"--registry-auth", "u:p", "--registry-auth-file", file}, wantErr: "not both"},
		{name: "two env ways", env: map[string]string{"DSWAP_REGISTRY_AUTH": "e:p", "DSWAP_REGISTRY_USER": "ci"}, wantErr: "set only one of"},
		{name: "user without password", env: map[string]string{"DSWAP_REGISTRY_USER": "ci"}, wantErr: "go together"},
		{name: "empty variables count as unset", env: map[string]string{"DSWAP_REGISTRY_AUTH": "", "DSWAP_REGISTRY_USER": "", "DSWAP_REGISTRY_PASSWORD": ""}},
		{name: "an empty password is a missing one", env: map[string]string{"DSWAP_REGISTRY_USER": "ci", "DSWAP_REGISTRY_PASSWORD": ""}, wantErr: "go together"},
		{name: "malformed flag", args: []string{"--registry-auth", "hunter2"}, wantErr: "--registry-auth: want USER:PASSWORD"},
		{name: "malformed file", args: []string{"--registry-auth-file", bad}, wantErr: "want USER:PASSWORD"},
		{name: "missing file", args: []string{"--registry-auth-file", "/nonexistent/login"}, wantErr: "/nonexistent/login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := registryAuth(upFlags(t, tc.args...), env(tc.env))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "hunter2", "a password is never quoted")
				assert.Equal(t, exitBadInput, exitCode(err))
				return
			}
			require.NoError(t, err)
			if tc.source == "" {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tc.want, got.Credential)
			assert.Equal(t, tc.source, got.Source)
		})
	}

	t.Run("a command without the flags reads no login", func(t *testing.T) {
		got, err := registryAuth(pflag.NewFlagSet("sync", pflag.ContinueOnError), env(map[string]string{"DSWAP_REGISTRY_AUTH": "malformed"}))
		require.NoError(t, err)
		assert.Nil(t, got)
	})
}

func TestBuildOptions(t *testing.T) {
	o, err := buildOptions(upFlags(t), env(nil))
	require.NoError(t, err)
	assert.Nil(t, o, "no --build: pull")

	o, err = buildOptions(upFlags(t, "--build", "./app", "-f", "deploy/Dockerfile", "--target", "prod",
		"--build-arg", "V=2", "--build-arg", "EMPTY=", "--build-arg", "FROM_ENV", "--build-arg", "UNSET"), env(map[string]string{"FROM_ENV": "e"}))
	require.NoError(t, err)
	assert.Equal(t, "./app", o.Context)
	assert.Equal(t, "deploy/Dockerfile", o.Dockerfile)
	assert.Equal(t, "prod", o.Target)
	require.NotNil(t, o.Args["V"])
	assert.Equal(t, "2", *o.Args["V"])
	require.NotNil(t, o.Args["EMPTY"])
	assert.Equal(t, "", *o.Args["EMPTY"])
	require.NotNil(t, o.Args["FROM_ENV"])
	assert.Equal(t, "e", *o.Args["FROM_ENV"])
	assert.Contains(t, o.Args, "UNSET")
	assert.Nil(t, o.Args["UNSET"], "KEY alone and not in the environment stays unset")

	_, err = buildOptions(upFlags(t, "--build-arg", "V=2"), env(nil))
	assert.ErrorContains(t, err, "--build-arg needs --build DIR")
	_, err = buildOptions(upFlags(t, "--build", ".", "--build-arg", "=x"), env(nil))
	assert.ErrorContains(t, err, "want KEY=VALUE")
}
