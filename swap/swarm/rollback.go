package swarm

import (
	"context"

	"github.com/dswap-dev/dswap/swap"
)

// Rollback swaps the service back to the image it ran before its last
// successful swap (from its history), through the same bridge as Up.
func (s *Swapper) Rollback(ctx context.Context, name string, over swap.Overrides) (*swap.Result, error) {
	if s.History == nil {
		return nil, swap.BadInput("no swap history is available, so there is no previous image to go back to; run dswap up IMAGE --service %s instead", name)
	}
	svc, err := s.Cluster.SwarmService(ctx, name)
	if err != nil {
		return nil, err
	}
	entries, err := s.History.Read(swap.KeyOf(name))
	if err != nil {
		return nil, err
	}
	from := ""
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if (e.Result == "swapped" || e.Result == "recovered") && e.ToImage == svc.Image && e.FromImage != "" {
			from = e.FromImage
			break
		}
	}
	if from == "" {
		return nil, swap.BadInput("the history of %s has no swap to the image it runs now (%s), so dswap does not know what ran before; run dswap up IMAGE --service %s instead", name, svc.Image, name)
	}
	s.log.Info("rolling back", "phase", swap.PhasePlan.String(), "service", name, "to", from)
	return s.Up(ctx, swap.Request{Image: from, Service: name, Overrides: over, Force: true, SkipTasks: true})
}
