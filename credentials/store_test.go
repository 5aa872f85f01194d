package credentials

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(content), 0o600))
	return dir
}

func TestStoreFind(t *testing.T) {
	ctx := context.Background()
	fakeHelper(t, "dswapunit", `echo '{"ServerURL":"x","Username":"helperuser","Secret":"helperpw"}'`)
	fakeHelper(t, "empty", `echo "credentials not found in native keychain"; exit 1`)

	dir := writeConfig(t, `{
		"auths": {"127.0.0.1:5000": {"auth": "`+b64("fileuser:filepw")+`"}, "ghcr.io": {"auth": "`+b64("shadowed:pw")+`"}},
		"credHelpers": {"ghcr.io": "dswapunit", "quay.io": "empty"}
	}`)
	cfgPath := filepath.Join(dir, ConfigFileName)
	for _, tc := range []struct {
		ref    string
		want   Credential
		source string
	}{
		{"127.0.0.1:5000/app:v2", Credential{Username: "fileuser", Password: "filepw"}, "config file " + cfgPath + " auths"},
		{"ghcr.io/acme/app", Credential{Username: "helperuser", Password: "helperpw"}, "credential helper docker-credential-dswapunit (credHelpers in " + cfgPath + ")"},
		{"quay.io/acme/app", Credential{}, "none (credential helper docker-credential-empty (credHelpers in " + cfgPath + ") has no entry for quay.io)"},
		{"other.example.com/app", Credential{}, "none (config file " + cfgPath + " has no auths entry for other.example.com)"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			f, err := (&Store{ConfigDir: dir}).Find(ctx, tc.ref)
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.Credential)
			assert.Equal(t, tc.source, f.Source)
		})
	}

	t.Run("explicit wins over the config file", func(t *testing.T) {
		ex := &Explicit{Credential: Credential{Username: "ci", Password: "cipw"}, Source: "--registry-auth-file /run/secret"}
		f, err := (&Store{ConfigDir: dir, Explicit: ex}).Find(ctx, "127.0.0.1:5000/app")
		require.NoError(t, err)
		assert.Equal(t, ex.Credential, f.Credential)
		assert.Equal(t, ex.Source, f.Source)
		assert.Equal(t, "127.0.0.1:5000", f.Registry.Host)
	})

	t.Run("no config file", func(t *testing.T) {
		empty := t.TempDir()
		f, err := (&Store{ConfigDir: empty}).Find(ctx, "app")
		require.NoError(t, err)
		assert.True(t, f.Credential.IsZero())
		assert.Equal(t, "none (no docker config file at "+filepath.Join(empty, ConfigFileName)+")", f.Source)
	})

	t.Run("DOCKER_CONFIG names the directory", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", dir)
		f, err := (&Store{}).Find(ctx, "127.0.0.1:5000/app")
		require.NoError(t, err)
		assert.Equal(t, "fileuser", f.Credential.Username)
	})

	t.Run("credsStore helper missing from PATH is an error naming it", func(t *testing.T) {
		d := writeConfig(t, `{"credsStore": "nowhere-to-be-found"}`)
		_, err := (&Store{ConfigDir: d}).Find(ctx, "app")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "docker-credential-nowhere-to-be-found is not on PATH")
		assert.Contains(t, err.Error(), "credsStore")
	})

	t.Run("malformed config file", func(t *testing.T) {
		d := writeConfig(t, `{"auths": [`)
		_, err := (&Store{ConfigDir: d}).Find(ctx, "app")
		require.Error(t, err)
		assert.Contains(t, err.Error(), filepath.Join(d, ConfigFileName))
	})
}
