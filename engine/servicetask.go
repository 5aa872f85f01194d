package engine

import (
	"maps"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

// OneOffTask is the spec of a one-off Swarm service that runs args once,
// to completion, with s's settings and image: a release task. It is a
// replicated service of one task with restart condition none, so Swarm
// never starts the task again, whether it completes or fails (a failed
// migration must not run again by itself).
//
// It is not Swarm's job mode (ReplicatedJob, API 1.41), which runs on
// Engine 20.10 but does not stop a job's task when the job service is
// removed: the task runs on, orphaned (swarmkit fixed it in January 2023,
// commit 75e563b4b "Fix removing tasks when a jobs service is removed",
// which its 20.10 branch does not have; seen on the lab's Engine 20.10.24,
// a task still running a minute after its job was removed). Removing the
// service is how dswap stops a task past its timeout, on Ctrl-C, or left by
// a killed dswap.
//
// It keeps what the task needs to act like the app: networks (without
// their aliases: requests for the service must not reach it), secrets,
// configs, environment, mounts, user, working directory, entrypoint,
// placement, resources and log driver. It drops what would make it part
// of the service: its labels (service and container: only labels are
// kept, so neither Traefik, a stack nor dswap count it), the HEALTHCHECK
// (a job, not a server), published ports and the virtual IP (it is never
// routed), the update and rollback policies (one task has nothing to
// roll), and restarts. Its stop grace period is zero: a task stopped on a
// timeout or Ctrl-C is killed at once, so it does not go on changing a
// database while dswap reports it stopped. args replace the image's CMD
// (ContainerSpec.Args); the entrypoint stays, as with `docker run IMAGE
// CMD...`.
func (s *SwarmService) OneOffTask(name, image string, args []string, labels map[string]string) *SwarmService {
	out := s.clone()
	out.ID, out.Version, out.UpdateState, out.UpdateMessage = "", 0, "", ""
	out.Name, out.spec.Name = name, name
	out.spec.Labels = maps.Clone(labels)
	out.Labels = maps.Clone(labels)
	cs := out.spec.TaskTemplate.ContainerSpec
	cs.Image, out.Image = image, image
	cs.Args = args
	cs.Labels = maps.Clone(labels)
	cs.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
	out.Healthcheck, out.HealthcheckDisabled = nil, true
	zero := time.Duration(0)
	cs.StopGracePeriod, out.StopGracePeriod = &zero, &zero
	for i := range out.spec.TaskTemplate.Networks {
		out.spec.TaskTemplate.Networks[i].Aliases = nil
	}
	//nolint:staticcheck // API 1.41 managers may still report the networks here.
	for i := range out.spec.Networks {
		out.spec.Networks[i].Aliases = nil
	}
	out.spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR}
	out.PublishedPorts = nil
	out.spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}
	out.spec.UpdateConfig, out.spec.RollbackConfig = nil, nil
	out.spec.TaskTemplate.ForceUpdate = 0
	one := uint64(1)
	out.spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}}
	out.Replicas, out.Global = 1, false
	return out
}

// TaskArgs are the arguments the service's tasks run (its CMD), for tests.
func (s *SwarmService) TaskArgs() []string {
	if cs := s.spec.TaskTemplate.ContainerSpec; cs != nil {
		return cs.Args
	}
	return nil
}
