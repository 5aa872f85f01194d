package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// ErrConflict is returned (wrapped) when a Swarm service was changed by
// someone else since it was read: its version index moved on.
var ErrConflict = errors.New("changed by someone else")

// StackNamespaceLabel is the label `docker stack deploy` puts on the
// services (and their containers) of a stack; StackImageLabel records the
// image the stack file named.
const (
	StackNamespaceLabel = "com.docker.stack.namespace"
	StackImageLabel     = "com.docker.stack.image"
)

// SwarmNode is what dswap knows about the Engine's part in a Swarm.
type SwarmNode struct {
	NodeID string
	// Manager is set when this Engine can manage the Swarm (it answers
	// service calls).
	Manager bool
}

// SwarmNode says whether the Engine is a Swarm node and a manager.
func (e *Engine) SwarmNode(ctx context.Context) (SwarmNode, error) {
	info, err := e.api.Info(ctx)
	if err != nil {
		return SwarmNode{}, fmt.Errorf("reading the Engine's Swarm state: %w", err)
	}
	return SwarmNode{NodeID: info.Swarm.NodeID, Manager: info.Swarm.ControlAvailable}, nil
}

// SwarmService is a Swarm service as dswap sees it. The methods that make
// a changed copy (WithImage, Bridge, Drained) keep every other field of
// the service's spec as Swarm returned it.
type SwarmService struct {
	ID      string
	Name    string
	Version uint64
	// Image is the image of its tasks, as written in its spec.
	Image  string
	Labels map[string]string
	// Replicas is the replica count; Global is set for a global service,
	// which has none.
	Replicas uint64
	Global   bool
	// Networks are the IDs (or names, as given) of the networks its tasks
	// attach to.
	Networks []string
	// StopGracePeriod is nil when Swarm's default (10 s) applies.
	StopGracePeriod *time.Duration
	// Healthcheck is the spec's own HEALTHCHECK, nil when the image's
	// applies; Disabled is set when the spec turns it off.
	Healthcheck         *Healthcheck
	HealthcheckDisabled bool
	// PublishedPorts are the ports published through the routing mesh or
	// the host.
	PublishedPorts []uint32
	// UpdateState and UpdateMessage are Swarm's report of its last
	// rolling update ("updating", "completed", "paused", ...).
	UpdateState   string
	UpdateMessage string
	// UpdateStarted is when that update started (zero if unknown).
	UpdateStarted time.Time

	spec swarm.ServiceSpec
}

// SwarmServiceOf converts the SDK's service.
func SwarmServiceOf(s swarm.Service) *SwarmService {
	out := &SwarmService{ID: s.ID, Name: s.Spec.Name, Version: s.Version.Index, Labels: maps.Clone(s.Spec.Labels), spec: s.Spec}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
		out.Image = cs.Image
		out.StopGracePeriod = cs.StopGracePeriod
		if hc := cs.Healthcheck; hc != nil {
			if len(hc.Test) > 0 && hc.Test[0] == "NONE" {
				out.HealthcheckDisabled = true
			} else {
				out.Healthcheck = healthcheckOf(hc)
			}
		}
	}
	switch m := s.Spec.Mode; {
	case m.Global != nil:
		out.Global = true
	case m.Replicated != nil && m.Replicated.Replicas != nil:
		out.Replicas = *m.Replicated.Replicas
	case m.Replicated != nil:
		out.Replicas = 1
	}
	for _, n := range s.Spec.TaskTemplate.Networks {
		out.Networks = append(out.Networks, n.Target)
	}
	//nolint:staticcheck // API 1.41 managers may still report the networks here.
	for _, n := range s.Spec.Networks {
		out.Networks = append(out.Networks, n.Target)
	}
	if ep := s.Spec.EndpointSpec; ep != nil {
		for _, p := range ep.Ports {
			out.PublishedPorts = append(out.PublishedPorts, p.PublishedPort)
		}
	}
	if u := s.UpdateStatus; u != nil {
		out.UpdateState, out.UpdateMessage = string(u.State), u.Message
		if u.StartedAt != nil {
			out.UpdateStarted = *u.StartedAt
		}
	}
	return out
}

// Mode says whether this is a replicated service (the only kind dswap
// swaps).
func (s *SwarmService) Replicated() bool {
	return s.spec.Mode.Replicated != nil
}

// clone is a deep copy of s, through JSON: the spec has pointers and
// slices at every level, and a copy must share none of them.
func (s *SwarmService) clone() *SwarmService {
	out := *s
	out.Labels = maps.Clone(s.Labels)
	out.Networks = append([]string(nil), s.Networks...)
	out.spec = deepCopySpec(s.spec)
	return &out
}

// WithImage is the service updated to image and nothing else: its tasks'
// spec stays as the user (or the stack) wrote it, so that a later `docker
// stack deploy` of a file naming this image finds nothing to change. The
// stack's record of the image (com.docker.stack.image) follows, as a stack
// deploy would set it. labels are set on the service (nil values remove
// one).
func (s *SwarmService) WithImage(image string, labels map[string]*string) *SwarmService {
	out := s.clone()
	out.Image = image
	out.spec.TaskTemplate.ContainerSpec.Image = image
	if _, ok := out.spec.Labels[StackImageLabel]; ok {
		out.spec.Labels[StackImageLabel] = image
	}
	out.setLabels(labels)
	return out
}

// WithLabels is the service with these service labels set (nil values
// remove one) and nothing else changed: it does not touch its tasks.
func (s *SwarmService) WithLabels(labels map[string]*string) *SwarmService {
	out := s.clone()
	out.setLabels(labels)
	return out
}

func (s *SwarmService) setLabels(labels map[string]*string) {
	if s.spec.Labels == nil {
		s.spec.Labels = map[string]string{}
	}
	for k, v := range labels {
		if v == nil {
			delete(s.spec.Labels, k)
		} else {
			s.spec.Labels[k] = *v
		}
	}
	s.Labels = maps.Clone(s.spec.Labels)
}

// Bridge is the spec of a sibling service named name that runs image
// with everything else of s: networks (with their aliases), mounts,
// secrets, configs, environment, resources, placement, restart, update and
// rollback policies, healthcheck, labels. Left out: the service labels in
// drop, the stack's namespace label on the service and its containers (a
// `docker stack deploy --prune` or `docker stack rm` must not take the
// bridge down mid-swap; the stack's own service is updated in its place),
// and published ports (two services cannot publish the same port, and
// traffic reaches the bridge through Traefik). labels are added to the
// service.
func (s *SwarmService) Bridge(name, image string, drop []string, labels map[string]string) *SwarmService {
	out := s.clone()
	out.ID, out.Version, out.UpdateState, out.UpdateMessage = "", 0, "", ""
	out.Name, out.spec.Name = name, name
	out.Image, out.spec.TaskTemplate.ContainerSpec.Image = image, image
	for _, k := range append(drop, StackNamespaceLabel, StackImageLabel) {
		delete(out.spec.Labels, k)
	}
	if out.spec.Labels == nil {
		out.spec.Labels = map[string]string{}
	}
	maps.Copy(out.spec.Labels, labels)
	out.Labels = maps.Clone(out.spec.Labels)
	delete(out.spec.TaskTemplate.ContainerSpec.Labels, StackNamespaceLabel)
	if ep := out.spec.EndpointSpec; ep != nil {
		ep.Ports = nil
	}
	out.PublishedPorts = nil
	// A forced update counter belongs to the service it was set on.
	out.spec.TaskTemplate.ForceUpdate = 0
	return out
}

// Drained is the service scaled to zero with this stop grace period: its
// tasks get their stop signal and grace, then are killed.
func (s *SwarmService) Drained(grace time.Duration) *SwarmService {
	out := s.clone()
	zero := uint64(0)
	out.spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &zero}
	out.Replicas = 0
	out.spec.TaskTemplate.ContainerSpec.StopGracePeriod = &grace
	out.StopGracePeriod = &grace
	return out
}

// Scaled is the service with n replicas and nothing else changed: Swarm
// adds or removes tasks and leaves the others as they run.
func (s *SwarmService) Scaled(n uint64) *SwarmService {
	out := s.clone()
	out.spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
	out.Replicas = n
	return out
}

// SpecJSON is the service's spec as Swarm stores it, for comparisons in
// tests and reports.
func (s *SwarmService) SpecJSON() []byte {
	b, _ := marshalSpec(s.spec)
	return b
}

// SwarmService returns the service named name (or with this ID).
func (e *Engine) SwarmService(ctx context.Context, name string) (*SwarmService, error) {
	s, _, err := e.api.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		return nil, notFound(err, "inspecting Swarm service "+name)
	}
	return SwarmServiceOf(s), nil
}

// CreateSwarmService creates a service from s's spec and returns its ID.
func (e *Engine) CreateSwarmService(ctx context.Context, s *SwarmService) (string, error) {
	// QueryRegistry is left off: the image is pinned as given, and a
	// manager without a registry answers at once.
	resp, err := e.api.ServiceCreate(ctx, s.spec, swarm.ServiceCreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating Swarm service %s: %w", s.Name, conflict(err))
	}
	return resp.ID, nil
}

// UpdateSwarmService writes s's spec to the service s.ID at s.Version: if
// the service changed since s was read, it fails with ErrConflict.
func (e *Engine) UpdateSwarmService(ctx context.Context, s *SwarmService) error {
	_, err := e.api.ServiceUpdate(ctx, s.ID, swarm.Version{Index: s.Version}, s.spec, swarm.ServiceUpdateOptions{})
	if err != nil {
		return notFound(conflict(err), "updating Swarm service "+s.Name)
	}
	return nil
}

// conflict marks the manager's "update out of sequence" as ErrConflict.
// Engine 20.10 reports it as a plain error (swarmkit's ErrSequenceConflict
// reaches the API without an errdefs class), so its text is all there is.
func conflict(err error) error {
	if cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "update out of sequence") {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// RemoveSwarmService removes the service with this ID or name.
func (e *Engine) RemoveSwarmService(ctx context.Context, id string) error {
	if err := e.api.ServiceRemove(ctx, id); err != nil {
		return notFound(err, "removing Swarm service "+id)
	}
	return nil
}

// SwarmTask is one task of a Swarm service.
type SwarmTask struct {
	ID        string
	ServiceID string
	NodeID    string
	Slot      int
	// State is Swarm's state of the task ("running", "failed", ...);
	// DesiredState what the orchestrator wants it to be.
	State        string
	DesiredState string
	// Message and Err are Swarm's last word on it.
	Message, Err string
	// Image is the image its spec names.
	Image       string
	ContainerID string
	ExitCode    int
	// Addresses maps network ID to the task's IP on it.
	Addresses map[string]string
	// NetworkNames maps network ID to the network's name.
	NetworkNames map[string]string
	Updated      time.Time
}

// Running says whether the task runs and is meant to.
func (t SwarmTask) Running() bool {
	return t.State == string(swarm.TaskStateRunning) && t.DesiredState == string(swarm.TaskStateRunning)
}

// Ended says whether the task will not run again (failed, rejected,
// complete, shut down).
func (t SwarmTask) Ended() bool {
	switch swarm.TaskState(t.State) {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return true
	}
	return false
}

// SwarmTasks returns every task of the service Swarm still keeps (running
// ones and the recent history of each slot).
func (e *Engine) SwarmTasks(ctx context.Context, serviceID string) ([]SwarmTask, error) {
	tasks, err := e.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
	if err != nil {
		return nil, fmt.Errorf("listing the tasks of Swarm service %s: %w", serviceID, err)
	}
	out := make([]SwarmTask, 0, len(tasks))
	for _, t := range tasks {
		if t.ServiceID != serviceID {
			// The filter also matches services whose name starts so.
			continue
		}
		out = append(out, swarmTaskOf(t))
	}
	return out, nil
}

func swarmTaskOf(t swarm.Task) SwarmTask {
	out := SwarmTask{
		ID: t.ID, ServiceID: t.ServiceID, NodeID: t.NodeID, Slot: t.Slot,
		State: string(t.Status.State), DesiredState: string(t.DesiredState),
		Message: t.Status.Message, Err: t.Status.Err, Updated: t.UpdatedAt,
		Addresses: map[string]string{}, NetworkNames: map[string]string{},
	}
	if cs := t.Spec.ContainerSpec; cs != nil {
		out.Image = cs.Image
	}
	if cs := t.Status.ContainerStatus; cs != nil {
		out.ContainerID, out.ExitCode = cs.ContainerID, cs.ExitCode
	}
	for _, na := range t.NetworksAttachments {
		out.NetworkNames[na.Network.ID] = na.Network.Spec.Name
		for _, a := range na.Addresses {
			ip, _, _ := strings.Cut(a, "/")
			if ip != "" {
				out.Addresses[na.Network.ID] = ip
				break
			}
		}
	}
	return out
}

// SwarmNodes maps the Swarm's node IDs to their host names.
func (e *Engine) SwarmNodes(ctx context.Context) (map[string]string, error) {
	nodes, err := e.api.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Swarm nodes: %w", err)
	}
	out := make(map[string]string, len(nodes))
	for _, n := range nodes {
		out[n.ID] = n.Description.Hostname
	}
	return out, nil
}

// SwarmServiceNames lists the Swarm's services by name.
func (e *Engine) SwarmServiceNames(ctx context.Context) ([]string, error) {
	services, err := e.api.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Swarm services: %w", err)
	}
	out := make([]string, 0, len(services))
	for _, s := range services {
		out = append(out, s.Spec.Name)
	}
	return out, nil
}

// SwarmServiceLogs returns the last tail lines of the service's tasks'
// output, each prefixed by Swarm with its task.
func (e *Engine) SwarmServiceLogs(ctx context.Context, id string, tail int) (string, error) {
	rc, err := e.api.ServiceLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(tail)})
	if err != nil {
		return "", notFound(err, "reading logs of Swarm service "+id)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading logs of Swarm service %s: %w", id, err)
	}
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, bytes.NewReader(raw)); err != nil {
		return strings.TrimRight(string(raw), "\n"), nil
	}
	return strings.TrimRight(buf.String(), "\n"), nil
}
