package main

import (
	"context"
	"log/slog"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

// routedHere narrows a keeper to the services this routes directory
// already routes (it holds their route file). A Traefik on the host reaches
// every container by IP, so "shares a network with Traefik" cannot tell its
// services from those of another Traefik on the Engine (a Traefik container
// with its own directory, its own dswap): without this, the keeper would
// write routes for them here and even finish or undo their swaps. A service
// joins with its first `dswap sync` or `dswap up` through this directory.
type routedHere struct {
	server.Upkeeper
	docker interface {
		List(ctx context.Context, f engine.ListFilter) ([]*engine.Container, error)
	}
	hasRoute func(key string) bool
}

func (r routedHere) ManagedRefs(ctx context.Context) ([]string, error) {
	refs, err := r.Upkeeper.ManagedRefs(ctx)
	if err != nil {
		return nil, err
	}
	all, err := r.docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ref := range refs {
		if r.owns(all, ref) {
			out = append(out, ref)
		}
	}
	return out, nil
}

func (r routedHere) Reconcile(ctx context.Context, ref string, log *slog.Logger) (swap.Reconciled, error) {
	all, err := r.docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return swap.Reconciled{Service: ref}, err
	}
	if !r.owns(all, ref) {
		log.Debug("not routed through this routes directory; left to whoever routes it", "service", ref)
		return swap.Reconciled{Service: ref, Upkeep: swap.UpkeepElsewhere}, nil
	}
	return r.Upkeeper.Reconcile(ctx, ref, log)
}

// owns says whether ref is a service whose route file is in this
// directory. A service gone from the Engine is not.
func (r routedHere) owns(all []*engine.Container, ref string) bool {
	svc, err := swap.FindService(all, ref, "")
	if err != nil || svc == nil {
		return false
	}
	return r.hasRoute(svc.Key())
}
