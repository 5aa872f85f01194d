package lab

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestSwarmRegistryConfigListensOnTheAddressAndStoresInTheDirectory(t *testing.T) {
	var config struct {
		Version string `yaml:"version"`
		Storage struct {
			Filesystem struct {
				RootDirectory string `yaml:"rootdirectory"`
			} `yaml:"filesystem"`
		} `yaml:"storage"`
		HTTP struct {
			Addr string `yaml:"addr"`
		} `yaml:"http"`
		Auth map[string]any `yaml:"auth"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(swarmRegistryConfig("10.150.7.2:5000", "/tmp/x/data")), &config))
	assert.Equal(t, "0.1", config.Version)
	assert.Equal(t, "10.150.7.2:5000", config.HTTP.Addr)
	assert.Equal(t, "/tmp/x/data", config.Storage.Filesystem.RootDirectory)
	assert.Empty(t, config.Auth, "no login: dswap asks the registry for digests without credentials")
}

func TestEngineNSIPIsTheNamespaceEndOfTheVeth(t *testing.T) {
	assert.Equal(t, "10.151.9.2", engineNSIP([2]byte{151, 9}))
	assert.Equal(t, []string{"--insecure-registry", "10.151.9.2:5000"}, insecureRegistryArgs(engineNSIP([2]byte{151, 9})+":"+swarmRegistryPort))
}

func TestStartSwarmWithARegistryNeedsItsBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := StartSwarm(ctx, SwarmOptions{Nodes: 1, TraefikBin: "/nonexistent/traefik", Registry: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), RegistryBinEnv)
}

func TestReadPushStream(t *testing.T) {
	for _, tc := range []struct {
		name, stream, digest, err string
	}{
		{name: "digest", stream: `{"status":"Pushed"}{"aux":{"Tag":"v1","Digest":"sha256:abc","Size":528}}`, digest: "sha256:abc"},
		{name: "error detail", stream: `{"status":"x"}{"errorDetail":{"message":"denied"},"error":"denied"}`, err: "pushing r/app:v1: denied"},
		{name: "no digest", stream: `{"status":"Pushed"}`, err: "reported no digest"},
		{name: "garbage", stream: `{"status":`, err: "reading progress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digest, err := readPushStream(strings.NewReader(tc.stream), "r/app:v1")
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.digest, digest)
		})
	}
}

func TestRegistryDigestAsksTheRegistryForTheStoredManifest(t *testing.T) {
	var gotMethod, gotPath, gotAccept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotPath, gotAccept = r.Method, r.URL.Path, r.Header.Get("Accept")
		if r.URL.Path != "/v2/shop/app/manifests/v2" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Docker-Content-Digest", "sha256:0123")
	}))
	defer srv.Close()
	s := &Swarm{Registry: strings.TrimPrefix(srv.URL, "http://")}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	digest, err := s.RegistryDigest(ctx, s.RegistryRef("shop/app", "v2"))
	require.NoError(t, err)
	assert.Equal(t, "sha256:0123", digest)
	assert.Equal(t, http.MethodHead, gotMethod)
	assert.Equal(t, "/v2/shop/app/manifests/v2", gotPath)
	assert.Contains(t, gotAccept, "application/vnd.docker.distribution.manifest.v2+json")
	assert.Contains(t, gotAccept, "application/vnd.oci.image.index.v1+json")

	_, err = s.RegistryDigest(ctx, s.RegistryRef("shop/app", "v3"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")

	_, err = s.RegistryDigest(ctx, "elsewhere.example:5000/shop/app:v2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want a tag in the Swarm's registry")
}

func TestPushAppRefusesATagOutsideTheRegistry(t *testing.T) {
	ctx := context.Background()
	_, err := (&Swarm{}).PushApp(ctx, AppImage{Tag: "app:v1", Version: "v1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no registry")
	_, err = (&Swarm{Registry: "10.150.7.2:5000"}).PushApp(ctx, AppImage{Tag: "app:v1", Version: "v1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not in the Swarm's registry")
}
