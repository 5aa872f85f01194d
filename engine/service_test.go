package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackService is a service as `docker stack deploy` creates it, with a
// bit of everything a spec can hold.
func stackService() swarm.Service {
	replicas := uint64(3)
	grace := 20 * time.Second
	delay := 5 * time.Second
	return swarm.Service{ID: "svc-id", Meta: swarm.Meta{Version: swarm.Version{Index: 42}}, Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "shop_web", Labels: map[string]string{
			StackNamespaceLabel: "shop", StackImageLabel: "myapp:v1",
			"traefik.http.routers.web.rule": "Host(`shop.local`)", "dswap.lock": "me/1", "team": "a",
		}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: "myapp:v1", Env: []string{"DB=postgres://db"}, Args: []string{"serve"},
				Labels:          map[string]string{StackNamespaceLabel: "shop", "app": "web"},
				Mounts:          []mount.Mount{{Type: mount.TypeVolume, Source: "shop_data", Target: "/data"}},
				Secrets:         []*swarm.SecretReference{{SecretName: "db_password", SecretID: "sec1", File: &swarm.SecretReferenceFileTarget{Name: "db_password", Mode: 0o400}}},
				Configs:         []*swarm.ConfigReference{{ConfigName: "app_conf", ConfigID: "cfg1", File: &swarm.ConfigReferenceFileTarget{Name: "/app.conf"}}},
				StopGracePeriod: &grace,
				Healthcheck:     &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: time.Second},
			},
			Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: 256 << 20}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay},
			Placement:     &swarm.Placement{Constraints: []string{"node.role==worker"}},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: "net-edge", Aliases: []string{"web"}}},
			ForceUpdate:   3,
		},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		UpdateConfig:   &swarm.UpdateConfig{Parallelism: 1, Order: "start-first"},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 2},
		EndpointSpec:   &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: []swarm.PortConfig{{TargetPort: 8080, PublishedPort: 80}}},
	}}
}

func specOf(t *testing.T, s *SwarmService) swarm.ServiceSpec {
	t.Helper()
	var out swarm.ServiceSpec
	require.NoError(t, json.Unmarshal(s.SpecJSON(), &out))
	return out
}

func TestBridgeCopiesTheServiceSpecButItsIdentityPortsAndStackMembership(t *testing.T) {
	orig := SwarmServiceOf(stackService())
	b := orig.Bridge("shop_web-dswap", "myapp:v2", []string{"dswap.lock"}, map[string]string{"dswap.bridge-of": "shop_web"})
	got := specOf(t, b)
	want := stackService().Spec

	assert.Equal(t, "shop_web-dswap", got.Name)
	assert.Equal(t, "myapp:v2", got.TaskTemplate.ContainerSpec.Image)
	assert.Equal(t, "", b.ID, "a new service")
	// Copied as they are.
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Env, got.TaskTemplate.ContainerSpec.Env)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Args, got.TaskTemplate.ContainerSpec.Args)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Mounts, got.TaskTemplate.ContainerSpec.Mounts)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Secrets, got.TaskTemplate.ContainerSpec.Secrets)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Configs, got.TaskTemplate.ContainerSpec.Configs)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Healthcheck, got.TaskTemplate.ContainerSpec.Healthcheck)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.StopGracePeriod, got.TaskTemplate.ContainerSpec.StopGracePeriod)
	assert.Equal(t, want.TaskTemplate.Resources, got.TaskTemplate.Resources)
	assert.Equal(t, want.TaskTemplate.RestartPolicy, got.TaskTemplate.RestartPolicy)
	assert.Equal(t, want.TaskTemplate.Placement, got.TaskTemplate.Placement)
	assert.Equal(t, want.TaskTemplate.Networks, got.TaskTemplate.Networks, "networks with their aliases")
	assert.Equal(t, want.Mode, got.Mode, "as many replicas")
	assert.Equal(t, want.UpdateConfig, got.UpdateConfig)
	assert.Equal(t, want.RollbackConfig, got.RollbackConfig)
	assert.Equal(t, map[string]string{"app": "web"}, got.TaskTemplate.ContainerSpec.Labels, "the containers leave the stack")
	assert.Equal(t, map[string]string{"traefik.http.routers.web.rule": "Host(`shop.local`)", "team": "a", "dswap.bridge-of": "shop_web"}, got.Labels,
		"labels without the stack's, the lock; with the bridge's own")
	// Not copied.
	assert.Empty(t, got.EndpointSpec.Ports, "two services cannot publish one port")
	assert.Equal(t, swarm.ResolutionModeVIP, got.EndpointSpec.Mode)
	assert.Zero(t, got.TaskTemplate.ForceUpdate)

	// The original is untouched.
	assert.Equal(t, stackService().Spec, orig.spec)
}

func TestWithImageChangesTheImageAndTheStacksRecordOfIt(t *testing.T) {
	orig := SwarmServiceOf(stackService())
	got := specOf(t, orig.WithImage("myapp:v2", nil))
	want := stackService().Spec
	want.TaskTemplate.ContainerSpec.Image = "myapp:v2"
	want.Labels[StackImageLabel] = "myapp:v2"
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	gotJSON, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(wantJSON), string(gotJSON))
}

func TestDrainedScalesToZeroWithTheGracePeriod(t *testing.T) {
	d := SwarmServiceOf(stackService()).Drained(7 * time.Second)
	got := specOf(t, d)
	require.NotNil(t, got.Mode.Replicated.Replicas)
	assert.Zero(t, *got.Mode.Replicated.Replicas)
	assert.Equal(t, 7*time.Second, *got.TaskTemplate.ContainerSpec.StopGracePeriod)
}

func TestSwarmTaskAddressesDropThePrefixLength(t *testing.T) {
	task := swarmTaskOf(swarm.Task{ID: "t1", Status: swarm.TaskStatus{State: swarm.TaskStateRunning}, DesiredState: swarm.TaskStateRunning,
		NetworksAttachments: []swarm.NetworkAttachment{{Network: swarm.Network{ID: "n1", Spec: swarm.NetworkSpec{Annotations: swarm.Annotations{Name: "edge"}}}, Addresses: []string{"10.0.1.5/24"}}}})
	assert.Equal(t, "10.0.1.5", task.Addresses["n1"])
	assert.Equal(t, "edge", task.NetworkNames["n1"])
	assert.True(t, task.Running())
}
