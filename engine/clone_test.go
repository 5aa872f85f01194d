package engine

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The v1 image as the daemon reports it, and a container created from it
// as `docker inspect` shows it: the image's defaults merged in.
func v1Image() *Image {
	return &Image{ID: "sha256:v1", defaults: imageDefaults{
		Env:          []string{"PATH=/bin", "VERSION=v1"},
		Entrypoint:   []string{"/app"},
		Cmd:          []string{"serve"},
		WorkingDir:   "/srv",
		User:         "app",
		Labels:       map[string]string{"org.opencontainers.image.version": "v1"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Healthcheck:  &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: time.Second},
	}}
}

type containerOpt func(*container.InspectResponse)

func fromV1(opts ...containerOpt) *Container {
	raw := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:   "0123456789abcdef0123",
			Name: "/web",
			HostConfig: &container.HostConfig{
				NetworkMode:   "appnet",
				RestartPolicy: container.RestartPolicy{Name: "unless-stopped"},
				Binds:         []string{"data:/data"},
				LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m"}},
				Resources:     container.Resources{Memory: 256 << 20},
			},
			State: &container.State{Running: true, Status: "running"},
		},
		Config: &container.Config{
			Hostname:     "0123456789ab",
			Image:        "myapp:v1",
			Env:          []string{"PATH=/bin", "VERSION=v1", "DATABASE_URL=postgres://db"},
			Entrypoint:   []string{"/app"},
			Cmd:          []string{"serve"},
			WorkingDir:   "/srv",
			User:         "app",
			Labels:       map[string]string{"org.opencontainers.image.version": "v1", "traefik.http.routers.web.rule": "Host(`x`)"},
			ExposedPorts: nat.PortSet{"8080/tcp": {}},
			Healthcheck:  &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: time.Second},
		},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"appnet":  {Aliases: []string{"web", "0123456789ab"}},
			"backend": {Aliases: []string{"api"}},
		}},
	}
	for _, o := range opts {
		o(&raw)
	}
	return FromInspect(raw)
}

func TestCloneTakesDefaultsFromTheNewImage(t *testing.T) {
	spec, err := Clone(fromV1(), v1Image(), "myapp:v2")
	require.NoError(t, err)
	assert.Equal(t, "myapp:v2", spec.Image)
	assert.Equal(t, []string{"DATABASE_URL=postgres://db"}, spec.config.Env, "VERSION=v1 came from the v1 image and must not carry over")
	assert.Nil(t, spec.config.Entrypoint)
	assert.Nil(t, spec.config.Cmd)
	assert.Empty(t, spec.config.WorkingDir)
	assert.Empty(t, spec.config.User)
	assert.Nil(t, spec.config.Healthcheck)
	assert.Empty(t, spec.config.ExposedPorts)
	assert.Empty(t, spec.config.Hostname, "the hostname was the old container's ID")
	assert.Equal(t, map[string]string{"traefik.http.routers.web.rule": "Host(`x`)"}, spec.Labels)
}

func TestCloneKeepsWhatTheUserSet(t *testing.T) {
	old := fromV1(func(r *container.InspectResponse) {
		r.Config.Cmd = []string{"serve", "--workers=4"}
		r.Config.User = "1000"
		r.Config.Hostname = "api.internal"
		r.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/app", "health", "--deep"}, Interval: 2 * time.Second}
		r.Config.ExposedPorts = nat.PortSet{"8080/tcp": {}, "9090/tcp": {}}
	})
	spec, err := Clone(old, v1Image(), "myapp:v2")
	require.NoError(t, err)
	assert.Nil(t, spec.config.Entrypoint)
	assert.Equal(t, []string{"serve", "--workers=4"}, []string(spec.config.Cmd))
	assert.Equal(t, "1000", spec.config.User)
	assert.Equal(t, "api.internal", spec.config.Hostname)
	assert.Equal(t, []string{"CMD", "/app", "health", "--deep"}, spec.config.Healthcheck.Test)
	assert.Equal(t, []int{9090}, spec.ExposedPorts())
	set, _ := spec.HasHealthcheck()
	assert.True(t, set)

	// Host settings carry over whole.
	assert.Equal(t, container.RestartPolicy{Name: "unless-stopped"}, spec.host.RestartPolicy)
	assert.Equal(t, []string{"data:/data"}, spec.host.Binds)
	assert.Equal(t, "10m", spec.host.LogConfig.Config["max-size"])
	assert.Equal(t, int64(256<<20), spec.host.Memory)
}

func TestCloneEntrypointSetByUserKeepsItsCommand(t *testing.T) {
	old := fromV1(func(r *container.InspectResponse) {
		r.Config.Entrypoint = []string{"/bin/tini", "--"}
		r.Config.Cmd = nil
	})
	spec, err := Clone(old, v1Image(), "myapp:v2")
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/tini", "--"}, []string(spec.config.Entrypoint))
	assert.Nil(t, spec.config.Cmd)
}

func TestCloneNetworks(t *testing.T) {
	spec, err := Clone(fromV1(), v1Image(), "myapp:v2")
	require.NoError(t, err)
	require.Equal(t, []string{"appnet", "backend"}, spec.Networks(), "the network the container was created on comes first")
	assert.Equal(t, []string{"web"}, spec.networks[0].endpoint.Aliases, "the old container's short ID is not an alias of the new one")
	assert.Equal(t, []string{"api"}, spec.networks[1].endpoint.Aliases)
}

func TestCloneRefusesWhatTwoContainersCannotShare(t *testing.T) {
	tests := []struct {
		name string
		opt  containerOpt
		want string
	}{
		{"fixed host port", func(r *container.InspectResponse) {
			r.HostConfig.PortBindings = nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}}
		}, "publishes host port(s) 127.0.0.1:8080->8080/tcp"},
		{"host network", func(r *container.InspectResponse) { r.HostConfig.NetworkMode = "host" }, `network mode "host"`},
		{"fixed IP", func(r *container.InspectResponse) {
			r.NetworkSettings.Networks["appnet"].IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: "10.0.0.5"}
		}, "fixed IP address on network appnet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Clone(fromV1(tt.opt), v1Image(), "myapp:v2")
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCloneAllowsRandomHostPorts(t *testing.T) {
	old := fromV1(func(r *container.InspectResponse) {
		r.HostConfig.PortBindings = nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: ""}}}
	})
	_, err := Clone(old, v1Image(), "myapp:v2")
	assert.NoError(t, err)
}

func TestHealthcheckDefaults(t *testing.T) {
	h := healthcheckOf(&container.HealthConfig{Test: []string{"CMD", "true"}})
	require.NotNil(t, h)
	assert.Equal(t, 30*time.Second, h.Interval)
	assert.Equal(t, 3, h.Retries)
	assert.Nil(t, healthcheckOf(&container.HealthConfig{Test: []string{"NONE"}}))
	assert.Nil(t, healthcheckOf(nil))
}
