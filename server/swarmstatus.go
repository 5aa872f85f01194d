package server

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

// The sidecar answers for Swarm services as `dswap status` and `dswap
// history` do: a Swarm service's status is swarmswap.Status (its tasks,
// their nodes, images, states, addresses and whether the route names
// them), in the list beside the container services' ServiceStatus, and
// its history is the record swap/swarm keeps under swap.KeyOf(name).

// SwarmStatus reports the Swarm services this sidecar routes (service "")
// or one Swarm service. It answers nil, and no error, when this sidecar
// does not know Swarm services (no Swarm dependencies, an Engine that is
// no Swarm manager) or service names none: the container path answers
// then.
func (b *SwapBackend) SwarmStatus(ctx context.Context, service string) ([]*swarmswap.Status, error) {
	if b.Swarm == nil {
		return nil, nil
	}
	if service != "" {
		ok, err := b.isSwarmService(ctx, service)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
		st, err := swarmswap.New(*b.Swarm).StatusOf(ctx, service)
		if err != nil {
			return nil, fmt.Errorf("reading the status of Swarm service %s: %w", service, err)
		}
		return []*swarmswap.Status{st}, nil
	}
	refs, err := swarmswap.Routed(ctx, b.Swarm.Cluster, b.Swarm.Routes)
	if err != nil {
		return nil, fmt.Errorf("listing the Swarm services dswap routes: %w", err)
	}
	var out []*swarmswap.Status
	for _, ref := range refs {
		st, err := swarmswap.New(*b.Swarm).StatusOf(ctx, ref)
		if errors.Is(err, engine.ErrNotFound) {
			// Removed since it was listed: its route file is an
			// orphan, not a service to show.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the status of Swarm service %s: %w", ref, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// swarmHistory reads a Swarm service's history; ok is false when service
// names no Swarm service here (the container path reads it then).
func (b *SwapBackend) swarmHistory(ctx context.Context, service string) (entries []history.Entry, ok bool, err error) {
	if b.Swarm == nil {
		return nil, false, nil
	}
	isSwarm, err := b.isSwarmService(ctx, service)
	if err != nil {
		return nil, false, err
	}
	if !isSwarm {
		return nil, false, nil
	}
	if b.Swarm.History == nil {
		return nil, true, nil
	}
	entries, err = b.Swarm.History.Read(swap.KeyOf(service))
	return entries, true, err
}

// isSwarmService is swarmswap.IsService asked only of a name the Swarm
// lists: the Engine logs every inspect of a missing service as an error,
// and the status page asks for every service's status and history every
// two seconds, container services' too.
func (b *SwapBackend) isSwarmService(ctx context.Context, name string) (bool, error) {
	node, err := b.Swarm.Cluster.SwarmNode(ctx)
	if err != nil {
		return false, fmt.Errorf("looking for Swarm service %s: %w", name, err)
	}
	if !node.Manager || name == "" {
		return false, nil
	}
	names, err := b.Swarm.Cluster.SwarmServiceNames(ctx)
	if err != nil {
		return false, fmt.Errorf("looking for Swarm service %s: %w", name, err)
	}
	if !slices.Contains(names, name) {
		return false, nil
	}
	ok, err := swarmswap.IsService(ctx, b.Swarm.Cluster, name)
	if err != nil {
		return false, fmt.Errorf("looking for Swarm service %s: %w", name, err)
	}
	return ok, nil
}
