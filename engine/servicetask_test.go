package engine

import (
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
)

func TestOneOffTaskRunsTheCommandOnceWithTheSpecButNothingThatServes(t *testing.T) {
	one := uint64(1)
	orig := SwarmServiceOf(stackService())
	task := orig.OneOffTask("shop_web-dswap-pre-1", "myapp:v2", []string{"/bin/sh", "-c", "migrate"}, map[string]string{"dswap.task-of": "shop_web"})
	got := specOf(t, task)
	want := stackService().Spec

	assert.Equal(t, "shop_web-dswap-pre-1", got.Name)
	assert.Equal(t, "", task.ID, "a new service")
	assert.Equal(t, "myapp:v2", got.TaskTemplate.ContainerSpec.Image)
	assert.Equal(t, []string{"/bin/sh", "-c", "migrate"}, got.TaskTemplate.ContainerSpec.Args, "the task replaces CMD")
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Command, got.TaskTemplate.ContainerSpec.Command, "the entrypoint stays")
	// What the task needs to act like the app.
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Env, got.TaskTemplate.ContainerSpec.Env)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Mounts, got.TaskTemplate.ContainerSpec.Mounts)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Secrets, got.TaskTemplate.ContainerSpec.Secrets)
	assert.Equal(t, want.TaskTemplate.ContainerSpec.Configs, got.TaskTemplate.ContainerSpec.Configs)
	assert.Equal(t, want.TaskTemplate.Resources, got.TaskTemplate.Resources)
	assert.Equal(t, want.TaskTemplate.Placement, got.TaskTemplate.Placement)
	assert.Equal(t, []swarm.NetworkAttachmentConfig{{Target: "net-edge"}}, got.TaskTemplate.Networks, "the networks, without the service's aliases")
	// What would make it serve, restart or count as the service.
	assert.Equal(t, map[string]string{"dswap.task-of": "shop_web"}, got.Labels, "no Traefik, stack or dswap label of the service")
	assert.Equal(t, map[string]string{"dswap.task-of": "shop_web"}, got.TaskTemplate.ContainerSpec.Labels)
	assert.Equal(t, []string{"NONE"}, got.TaskTemplate.ContainerSpec.Healthcheck.Test)
	assert.Equal(t, &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR}, got.EndpointSpec, "no published port, no virtual IP")
	assert.Equal(t, swarm.RestartPolicyConditionNone, got.TaskTemplate.RestartPolicy.Condition)
	assert.Nil(t, got.UpdateConfig, "one task: nothing to roll")
	assert.Nil(t, got.RollbackConfig)
	assert.Zero(t, *got.TaskTemplate.ContainerSpec.StopGracePeriod, "stopped at once")
	assert.Equal(t, swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}}, got.Mode, "one task, not a job (see OneOffTask)")
	assert.Zero(t, got.TaskTemplate.ForceUpdate)

	// The service itself is untouched.
	assert.Equal(t, want, specOf(t, orig))
}
