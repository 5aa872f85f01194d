package credentials

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryOf(t *testing.T) {
	for _, tc := range []struct {
		ref       string
		host, key string
	}{
		{"myapp:v2", "docker.io", DockerHubKey},
		{"library/nginx", "docker.io", DockerHubKey},
		{"docker.io/acme/app:1", "docker.io", DockerHubKey},
		{"index.docker.io/acme/app", "docker.io", DockerHubKey},
		{"ghcr.io/acme/app:v2", "ghcr.io", "ghcr.io"},
		{"127.0.0.1:5000/app@sha256:" + sha, "127.0.0.1:5000", "127.0.0.1:5000"},
		{"localhost:5000/team/app", "localhost:5000", "localhost:5000"},
		{"registry.example.com:443/app", "registry.example.com:443", "registry.example.com:443"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			reg, err := RegistryOf(tc.ref)
			require.NoError(t, err)
			assert.Equal(t, tc.host, reg.Host)
			assert.Equal(t, tc.key, reg.Key)
		})
	}
	_, err := RegistryOf("not a reference!")
	assert.Error(t, err)
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestHostname(t *testing.T) {
	for key, want := range map[string]string{
		"https://index.docker.io/v1/": "index.docker.io",
		"docker.io":                   "index.docker.io",
		"registry-1.docker.io":        "index.docker.io",
		"http://10.0.0.1:5000/v2/":    "10.0.0.1:5000",
		"ghcr.io":                     "ghcr.io",
		"GHCR.io":                     "ghcr.io",
		"127.0.0.1:5000":              "127.0.0.1:5000",
	} {
		assert.Equal(t, want, hostname(key), key)
	}
}
