package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

// swarmAware is the one place dswap tells a Swarm service from a set of
// containers: a command naming a service of the Swarm this Engine manages
// takes the Swarm path (swap/swarm), every other the container swap.
type swarmAware struct {
	swapper
	cluster swarmswap.Cluster
	// deps are the Swarm swap's side effects; a new swarmswap.Swapper is
	// made from them per command.
	deps swarmswap.Deps
	log  *slog.Logger
}

// isSwarm says whether name is a Swarm service here.
func (w *swarmAware) isSwarm(ctx context.Context, name string) (bool, error) {
	if w == nil || w.cluster == nil {
		return false, nil
	}
	ok, err := swarmswap.IsService(ctx, w.cluster, name)
	if err != nil {
		return false, fmt.Errorf("looking for Swarm service %s: %w", name, err)
	}
	if ok {
		w.log.Debug("a Swarm service: swapping it through a bridge service", "service", name)
	}
	return ok, nil
}

func (w *swarmAware) Up(ctx context.Context, req swap.Request) (*swap.Result, error) {
	if ok, err := w.isSwarm(ctx, req.Service); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return w.swapper.Up(ctx, req)
	}
	if req.Labels != nil || req.Healthcheck != nil || req.DefinitionLabels != nil {
		return nil, swap.BadInput("service %s is a Swarm service: dswap swaps it to an image (dswap up IMAGE --service %s); a compose file's labels and healthcheck are Swarm's to apply (docker stack deploy)", req.Service, req.Service)
	}
	return swarmswap.New(w.deps).Up(ctx, req)
}

func (w *swarmAware) Rollback(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error) {
	if ok, err := w.isSwarm(ctx, service); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return w.swapper.Rollback(ctx, service, over)
	}
	return swarmswap.New(w.deps).Rollback(ctx, service, over)
}

func (w *swarmAware) Sync(ctx context.Context, service string, over swap.Overrides) ([]swap.Synced, error) {
	if ok, err := w.isSwarm(ctx, service); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return w.swapper.Sync(ctx, service, over)
	}
	return swarmswap.New(w.deps).Sync(ctx, service, over)
}

func (w *swarmAware) Promote(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error) {
	if ok, err := w.isSwarm(ctx, service); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return w.swapper.Promote(ctx, service, over)
	}
	return swarmswap.New(w.deps).Promote(ctx, service, over)
}

func (w *swarmAware) Abort(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error) {
	if ok, err := w.isSwarm(ctx, service); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return w.swapper.Abort(ctx, service, over)
	}
	return swarmswap.New(w.deps).Abort(ctx, service, over)
}

// swarmStatus is the status of a Swarm service, when service names one.
func (w *swarmAware) swarmStatus(ctx context.Context, service string) (*swarmswap.Status, error) {
	if ok, err := w.isSwarm(ctx, service); err != nil || !ok {
		return nil, err
	}
	return swarmswap.New(w.deps).StatusOf(ctx, service)
}

// routedStatuses are the statuses of the Swarm services dswap routes here.
func (w *swarmAware) routedStatuses(ctx context.Context) ([]*swarmswap.Status, error) {
	if w == nil || w.cluster == nil {
		return nil, nil
	}
	refs, err := swarmswap.Routed(ctx, w.cluster, w.deps.Routes)
	if err != nil {
		return nil, err
	}
	var out []*swarmswap.Status
	for _, ref := range refs {
		st, err := swarmswap.New(w.deps).StatusOf(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// printSwarmStatus prints a Swarm service's tasks as dswap status does a
// service's containers.
func printSwarmStatus(stdout io.Writer, st *swarmswap.Status) error {
	sort.Slice(st.Tasks, func(i, j int) bool { return st.Tasks[i].Name < st.Tasks[j].Name })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SERVICE\tTASK\tNODE\tIMAGE\tSTATE\tADDRESS\tROUTED\n")
	for _, t := range st.Tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Service, t.Name, t.Node, t.Image, t.State, dash(t.Address), yesNo(t.Routed))
	}
	if st.Interrupted != "" {
		fmt.Fprintf(tw, "%s\t! %s\t\t\t\t\t\n", st.Service, st.Interrupted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "Swarm service %s: %s, %d replica(s); route %s names %s\n", st.Service, st.Image, st.Replicas, st.RouteFile, dash(strings.Join(st.Routed, ", ")))
	return err
}
