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
