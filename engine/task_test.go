package engine

import (
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
)

func TestOneOffLeavesTheServiceAlone(t *testing.T) {
	s := &Spec{Name: "web-2", Image: "app:v2", Labels: map[string]string{"traefik.http.routers.web.rule": "Host(`x`)", "com.docker.compose.service": "web"}}
	s.config.Env = []string{"DB=postgres://db"}
	s.config.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/app", "health"}}
	s.host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
	s.host.PortBindings = nat.PortMap{"80/tcp": {{HostPort: "8080"}}}
	s.host.Binds = []string{"data:/data"}
	s.networks = []networkAttachment{{name: "front", endpoint: &network.EndpointSettings{Aliases: []string{"web"}}}}

	o := s.OneOff("web-pre-1", []string{"/app", "migrate"}, map[string]string{"dswap.task": "pre"})
	assert.Equal(t, map[string]string{"dswap.task": "pre"}, o.Labels, "no routing or compose label: not a member of the service")
	assert.Equal(t, []string{"/app", "migrate"}, o.Command())
	assert.Equal(t, []string{"NONE"}, o.config.Healthcheck.Test)
	assert.Equal(t, "no", o.RestartPolicy())
	assert.Empty(t, o.HostPortBindings(), "the running containers hold the host ports")
	assert.Equal(t, []string{"DB=postgres://db"}, o.config.Env)
	assert.Equal(t, []string{"data:/data"}, o.host.Binds)
	assert.Equal(t, []string{"front"}, o.Networks())
	assert.Empty(t, o.networks[0].endpoint.Aliases, "requests for the service must not reach the task")
	assert.Equal(t, []string{"web"}, s.networks[0].endpoint.Aliases, "the service's spec is left as it was")
}
