package credentials

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthEntries(t *testing.T) {
	cfg, err := parseConfig([]byte(`{
		"auths": {
			"https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hub:pass") + `"},
			"ghcr.io": {"username": "gh", "password": "ghpass"},
			"http://old.example.com:5000/v1/": {"auth": "` + b64("old:oldpass") + `"},
			"token.example.com": {"auth": "", "identitytoken": "refresh-token"},
			"bearer.example.com": {"registrytoken": "bearer-token"},
			"broken.example.com": {"auth": "%%%"},
			"nocolon.example.com": {"auth": "` + b64("justuser") + `"},
			"empty.example.com": {}
		},
		"HttpHeaders": {"User-Agent": "x"}
	}`))
	require.NoError(t, err)

	for _, tc := range []struct {
		ref    string
		want   Credential
		ok     bool
		errSub string
	}{
		{ref: "myapp:v2", want: Credential{Username: "hubuser", Password: "hub:pass"}, ok: true},
		{ref: "ghcr.io/acme/app", want: Credential{Username: "gh", Password: "ghpass"}, ok: true},
		{ref: "old.example.com:5000/app", want: Credential{Username: "old", Password: "oldpass"}, ok: true},
		{ref: "token.example.com/app", want: Credential{IdentityToken: "refresh-token"}, ok: true},
		{ref: "bearer.example.com/app", want: Credential{RegistryToken: "bearer-token"}, ok: true},
		{ref: "unknown.example.com/app"},
		{ref: "empty.example.com/app"},
		{ref: "broken.example.com/app", errSub: "not base64"},
		{ref: "nocolon.example.com/app", errSub: "USER:PASSWORD"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			reg, err := RegistryOf(tc.ref)
			require.NoError(t, err)
			got, ok, err := cfg.auth(reg)
			if tc.errSub != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.errSub)
				assert.NotContains(t, err.Error(), "justuser")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestHelperPrecedence(t *testing.T) {
	hub := Registry{Host: "docker.io", Key: DockerHubKey}
	ghcr := Registry{Host: "ghcr.io", Key: "ghcr.io"}
	local := Registry{Host: "127.0.0.1:5000", Key: "127.0.0.1:5000"}
	for _, tc := range []struct {
		name        string
		cfg         configFile
		reg         Registry
		helper, via string
	}{
		{"credHelpers wins over credsStore", configFile{CredsStore: "desktop", CredHelpers: map[string]string{"ghcr.io": "gh"}}, ghcr, "gh", "credHelpers"},
		{"credsStore for other registries", configFile{CredsStore: "desktop", CredHelpers: map[string]string{"ghcr.io": "gh"}}, local, "desktop", "credsStore"},
		{"credHelpers by Docker Hub's key", configFile{CredHelpers: map[string]string{DockerHubKey: "hubhelper"}}, hub, "hubhelper", "credHelpers"},
		{"credHelpers by a Docker Hub alias", configFile{CredHelpers: map[string]string{"docker.io": "hubhelper"}}, hub, "hubhelper", "credHelpers"},
		{"an empty credHelpers entry falls back", configFile{CredsStore: "desktop", CredHelpers: map[string]string{"ghcr.io": ""}}, ghcr, "desktop", "credsStore"},
		{"no helper: auths", configFile{Auths: map[string]authEntry{"ghcr.io": {}}}, ghcr, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			helper, via := tc.cfg.helperFor(tc.reg)
			assert.Equal(t, tc.helper, helper)
			assert.Equal(t, tc.via, via)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	cfg, err := parseConfig([]byte("  \n"))
	require.NoError(t, err, "an empty file is an empty config")
	assert.Empty(t, cfg.Auths)

	_, err = parseConfig([]byte(`{"auths": {"x": {"auth": "c2VjcmV0"}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "c2VjcmV0")
}
