package swarm

import (
	"context"
	"fmt"
	"slices"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// Status is what dswap status shows of a Swarm service.
type Status struct {
	Service   string       `json:"service"`
	Swarm     bool         `json:"swarm"`
	Image     string       `json:"image"`
	Replicas  uint64       `json:"replicas"`
	RouteFile string       `json:"route_file"`
	Routed    []string     `json:"routed"`
	Tasks     []TaskStatus `json:"tasks"`
	// Interrupted describes a bridge a killed dswap left.
	Interrupted string `json:"interrupted,omitempty"`
}

// TaskStatus is one running (or starting) task of the service or its
// bridge.
type TaskStatus struct {
	Name    string `json:"name"`
	Node    string `json:"node"`
	State   string `json:"state"`
	Image   string `json:"image"`
	Address string `json:"address"`
	Routed  bool   `json:"routed"`
}

// StatusOf reports the Swarm service name: its tasks (node, state,
// address on the network shared with Traefik) and what the route names.
func (s *Swapper) StatusOf(ctx context.Context, name string) (*Status, error) {
	svc, err := s.Cluster.SwarmService(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &Status{Service: name, Swarm: true, Image: svc.Image, Replicas: svc.Replicas, RouteFile: s.Routes.FileFor(swap.KeyOf(name)), Routed: []string{}, Tasks: []TaskStatus{}}
	if hosts, _, err := s.routedHosts(name); err != nil {
		return nil, err
	} else if hosts != nil {
		st.Routed = hosts
	}
	network, _ := s.sharedNetwork(svc)
	nodes, err := s.Cluster.SwarmNodes(ctx)
	if err != nil {
		return nil, err
	}
	add := func(owner *engine.SwarmService) error {
		tasks, err := s.Cluster.SwarmTasks(ctx, owner.ID)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.DesiredState != "running" {
				continue
			}
			addr := t.Addresses[network]
			node := nodes[t.NodeID]
			if node == "" {
				node = shortID(t.NodeID)
			}
			st.Tasks = append(st.Tasks, TaskStatus{Name: fmt.Sprintf("%s.%d", owner.Name, t.Slot), Node: node, State: t.State, Image: t.Image, Address: addr, Routed: addr != "" && slices.Contains(st.Routed, addr)})
		}
		return nil
	}
	if err := add(svc); err != nil {
		return nil, err
	}
	// Listed before it is inspected: the sidecar's status page asks every
	// few seconds, and the Engine logs every inspect of a missing service
	// as an error.
	names, err := s.Cluster.SwarmServiceNames(ctx)
	if err != nil {
		return nil, err
	}
	// A release task's one-off service, running (or left by a killed
	// dswap): its task is listed with the service's, never routed.
	for _, task := range s.taskServices(ctx, name, names) {
		if err := add(task); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(names, BridgeName(name)) {
		return st, nil
	}
	if bridge, err := s.Cluster.SwarmService(ctx, BridgeName(name)); err == nil && bridge.Labels[BridgeOfLabel] == name {
		st.Interrupted = fmt.Sprintf("interrupted swap: the bridge service %s (%s) is left; the next dswap up, sync or rollback of %s puts it right", bridge.Name, bridge.Image, name)
		if pc, paused, err := s.pausedCanary(name); err == nil && paused {
			st.Interrupted = fmt.Sprintf("paused canary: %d%% of the traffic on the bridge service %s (%s); dswap promote %s goes on, dswap abort %s goes back", pc.Weight, bridge.Name, bridge.Image, name, name)
		}
		if err := add(bridge); err != nil {
			return nil, err
		}
	}
	return st, nil
}
