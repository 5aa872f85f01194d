package traefik

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

type fakeLister []*engine.Container

func (f fakeLister) List(context.Context, engine.ListFilter) ([]*engine.Container, error) {
	return f, nil
}

func traefikContainer(args ...string) *engine.Container {
	return &engine.Container{
		ID: "abc", Name: "proxy", Image: "traefik:v3.6",
		Args:           append([]string{"traefik"}, args...),
		Mounts:         []engine.Mount{{Type: "bind", Source: "/srv/routes", Destination: "/etc/traefik/dynamic"}},
		PublishedPorts: []engine.PortBinding{{ContainerPort: "8080/tcp", HostIP: "127.0.0.1", HostPort: "9000"}},
		Networks:       map[string]engine.Endpoint{"edge": {IPAddress: "172.20.0.2"}},
	}
}

func TestFindFromArgs(t *testing.T) {
	docker := fakeLister{
		{Name: "app", Image: "myapp:v1", Args: []string{"/app"}},
		traefikContainer("--providers.file.directory=/etc/traefik/dynamic", "--api.insecure=true", "--providers.docker"),
	}
	inst, err := Find(context.Background(), docker, "")
	require.NoError(t, err)
	require.NotNil(t, inst)
	assert.Equal(t, "proxy", inst.Container.Name)
	assert.Equal(t, "/etc/traefik/dynamic", inst.FileDir)
	assert.Equal(t, "/srv/routes", inst.HostDir)
	assert.Equal(t, "http://127.0.0.1:9000", inst.APIURL)
	assert.True(t, inst.DockerProvider)
}

func TestFindSpaceSeparatedArgsAndEnv(t *testing.T) {
	c := traefikContainer("--providers.file.directory", "/etc/traefik/dynamic/sub")
	c.Env = []string{"TRAEFIK_API_INSECURE=true"}
	inst, err := Find(context.Background(), fakeLister{c}, "")
	require.NoError(t, err)
	assert.Equal(t, "/srv/routes/sub", inst.HostDir)
	assert.Equal(t, "http://127.0.0.1:9000", inst.APIURL)
}

func TestFindFromStaticFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "traefik.yml"), []byte("api:\n  insecure: true\nproviders:\n  file:\n    directory: /etc/traefik/dynamic\n"), 0o644))
	c := traefikContainer()
	c.Mounts = append(c.Mounts, engine.Mount{Type: "bind", Source: dir, Destination: "/etc/traefik/traefik.yml"})
	c.Mounts[0].Source = filepath.Join(dir, "dyn")
	c.Mounts[1].Source = filepath.Join(dir, "traefik.yml")
	inst, err := Find(context.Background(), fakeLister{c}, "")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "dyn"), inst.HostDir)
	assert.Equal(t, "http://127.0.0.1:9000", inst.APIURL)
}

func TestFindErrors(t *testing.T) {
	inst, err := Find(context.Background(), fakeLister{{Name: "app", Image: "myapp"}}, "")
	require.NoError(t, err)
	assert.Nil(t, inst, "no Traefik container: Traefik may run on the host")

	_, err = Find(context.Background(), fakeLister{traefikContainer(), traefikContainer()}, "")
	assert.ErrorContains(t, err, "--traefik-container")

	_, err = Find(context.Background(), fakeLister{}, "proxy")
	assert.ErrorContains(t, err, "no running container named proxy")

	unmounted := traefikContainer("--providers.file.directory=/dynamic")
	_, err = Find(context.Background(), fakeLister{unmounted}, "")
	assert.ErrorContains(t, err, "not mounted from the host")
}

func TestLooksLikeTraefik(t *testing.T) {
	for _, tc := range []struct {
		image string
		args  []string
		want  bool
	}{
		{"traefik:v3.6", []string{"/entrypoint.sh", "traefik"}, true},
		{"docker.io/library/traefik:v3.6", nil, true},
		{"registry.example.com/proxy/traefik@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", nil, true},
		{"dswap-lab/proxy:abc", []string{"/traefik", "--api.insecure=true"}, true},
		{"traefik/whoami", []string{"/whoami"}, false},
		{"traefik/whoami:v1.10", []string{"/whoami", "--port", "80"}, false},
		{"ghcr.io/acme/traefik-dashboard-exporter:1", []string{"/exporter"}, false},
		{"myapp:v1", []string{"/app", "traefik"}, false},
	} {
		c := &engine.Container{Name: "c", Image: tc.image, Args: tc.args}
		assert.Equal(t, tc.want, LooksLikeTraefik(c), "%s %v", tc.image, tc.args)
	}
	assert.True(t, LooksLikeTraefik(&engine.Container{Image: "edge:1", Labels: map[string]string{"dswap.traefik": "true"}}))
	assert.False(t, LooksLikeTraefik(&engine.Container{Image: "traefik:v3", Labels: map[string]string{"dswap.traefik": "false"}}))
}

func TestDiscoverNeverRefusesBecauseOfUnrelatedContainers(t *testing.T) {
	whoami := &engine.Container{Name: "whoami", Image: "traefik/whoami", Args: []string{"/whoami"}}
	real := traefikContainer("--providers.file.directory=/etc/traefik/dynamic", "--api.insecure=true")
	inst, err := Discover(context.Background(), fakeLister{whoami, real}, Query{})
	require.NoError(t, err)
	require.NotNil(t, inst)
	assert.Equal(t, "proxy", inst.Container.Name)

	other := traefikContainer("--providers.file.directory=/etc/traefik/dynamic", "--api.insecure=true")
	other.Name, other.Mounts[0].Source, other.PublishedPorts[0].HostPort = "proxy2", "/srv/other", "9001"
	// With the routes directory given, the Traefik that reads it is the one.
	inst, err = Discover(context.Background(), fakeLister{real, other}, Query{RoutesDir: "/srv/other/"})
	require.NoError(t, err)
	require.NotNil(t, inst)
	assert.Equal(t, "proxy2", inst.Container.Name)
	// With the API given, the Traefik that serves it.
	inst, err = Discover(context.Background(), fakeLister{real, other}, Query{APIURL: "http://127.0.0.1:9000/"})
	require.NoError(t, err)
	require.NotNil(t, inst)
	assert.Equal(t, "proxy", inst.Container.Name)
	// Neither matches: nothing found, and no refusal.
	inst, err = Discover(context.Background(), fakeLister{real, other}, Query{RoutesDir: "/srv/elsewhere"})
	require.NoError(t, err)
	assert.Nil(t, inst)
	// A Traefik whose directory is not mounted does not stop a swap
	// whose routes directory is given.
	unmounted := traefikContainer("--providers.file.directory=/dynamic")
	inst, err = Discover(context.Background(), fakeLister{unmounted}, Query{RoutesDir: "/srv/routes"})
	require.NoError(t, err)
	assert.Nil(t, inst)
	inst, err = Discover(context.Background(), fakeLister{unmounted}, Query{Container: "proxy", RoutesDir: "/srv/routes"})
	require.NoError(t, err)
	require.NotNil(t, inst, "a named Traefik is still read, for its networks")
	assert.Empty(t, inst.HostDir)
}

func TestFileDirectoryCannotLeaveItsMount(t *testing.T) {
	for _, dir := range []string{
		"/etc/traefik/dynamic/../../../etc/cron.d",
		"/etc/traefik/dynamic/../../..",
		"dynamic",
	} {
		c := traefikContainer("--providers.file.directory=" + dir)
		_, err := Find(context.Background(), fakeLister{c}, "")
		assert.Error(t, err, dir)
	}
	c := traefikContainer("--providers.file.directory=/etc/traefik/dynamic/sub/../other/")
	inst, err := Find(context.Background(), fakeLister{c}, "")
	require.NoError(t, err)
	assert.Equal(t, "/srv/routes/other", inst.HostDir, "a .. that stays inside the mount is cleaned")
}
