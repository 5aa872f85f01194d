package lab

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTraefikArgs(t *testing.T) {
	args := traefikArgs([]string{"--log.level=DEBUG"}, "")
	for _, want := range []string{
		"--entryPoints.web.address=:80",
		"--entryPoints.traefik.address=:8080",
		"--api.insecure=true",
		"--ping=true",
		"--providers.file.directory=/routes",
		"--providers.file.watch=true",
		"--metrics.prometheus=true",
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
	} {
		assert.Contains(t, args, want)
	}
	assert.Equal(t, "--log.level=DEBUG", args[len(args)-1], "extra args come last so they override defaults")
	for _, a := range args {
		assert.NotContains(t, a, "providers.docker", "the docker provider is off unless asked for")
	}
}

func TestTraefikArgsDockerProvider(t *testing.T) {
	args := traefikArgs([]string{"--log.level=DEBUG"}, "lab-net")
	for _, want := range []string{
		"--providers.file.directory=/routes",
		"--providers.docker=true",
		"--providers.docker.exposedByDefault=false",
		"--providers.docker.network=lab-net",
	} {
		assert.Contains(t, args, want)
	}
	assert.Equal(t, "--log.level=DEBUG", args[len(args)-1], "extra args come last so they override defaults")
}

func TestHostDockerSocket(t *testing.T) {
	tests := []struct {
		dockerHost, want, wantErr string
	}{
		{dockerHost: "", want: "/var/run/docker.sock"},
		{dockerHost: "unix:///run/user/1000/docker.sock", want: "/run/user/1000/docker.sock"},
		{dockerHost: "tcp://127.0.0.1:2375", wantErr: "Unix socket"},
	}
	for _, tt := range tests {
		t.Setenv("DOCKER_HOST", tt.dockerHost)
		got, err := hostDockerSocket()
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}

func TestTraefikImageTagFollowsContent(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, []byte("binary one"), 0o755))
	require.NoError(t, os.WriteFile(b, []byte("binary two"), 0o755))
	sumA, err := fileSHA256(a)
	require.NoError(t, err)
	sumB, err := fileSHA256(b)
	require.NoError(t, err)
	assert.Len(t, sumA, 64)
	assert.NotEqual(t, traefikImageTag(sumA), traefikImageTag(sumB))
	assert.Equal(t, "dswap-lab/traefik:"+sumA[:16], traefikImageTag(sumA))

	_, err = fileSHA256(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "hashing")
}

func TestHostPort(t *testing.T) {
	ports := nat.PortMap{
		"80/tcp":   {{HostIP: "127.0.0.1", HostPort: "32768"}},
		"8080/tcp": {{HostIP: "0.0.0.0", HostPort: "32769"}},
	}
	got, err := hostPort(ports, "80/tcp", "127.0.0.1")
	require.NoError(t, err)
	assert.Equal(t, "32768", got)

	_, err = hostPort(ports, "8080/tcp", "127.0.0.1")
	require.ErrorContains(t, err, "no 127.0.0.1 host port", "a binding on all interfaces is not what the lab asked for")
	_, err = hostPort(ports, "443/tcp", "127.0.0.1")
	require.Error(t, err)
}

func TestAll200(t *testing.T) {
	var routersReady atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/http/routers" && !routersReady.Load() {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("OK"))
	}))
	defer srv.Close()
	urls := []string{srv.URL + "/ping", srv.URL + "/api/http/routers"}

	err := all200(context.Background(), urls)
	require.ErrorContains(t, err, "503")
	routersReady.Store(true)
	require.NoError(t, all200(context.Background(), urls))
}

func TestPollUntil(t *testing.T) {
	t.Run("done after a few ticks", func(t *testing.T) {
		calls := 0
		err := pollUntil(context.Background(), time.Millisecond, func(context.Context) (error, error) {
			calls++
			if calls < 3 {
				return errors.New("not yet"), nil
			}
			return nil, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3, calls)
	})
	t.Run("fatal stops at once", func(t *testing.T) {
		err := pollUntil(context.Background(), time.Millisecond, func(context.Context) (error, error) {
			return errors.New("not yet"), errors.New("container exited")
		})
		require.EqualError(t, err, "container exited")
	})
	t.Run("deadline names the last state", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := pollUntil(ctx, 5*time.Millisecond, func(context.Context) (error, error) {
			return errors.New("ping answers 503"), nil
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "ping answers 503")
	})
}
