package swap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// drain stops the old containers, each with the drain window as its stop
// timeout, all at once, then removes them.
func (s *Swapper) drain(ctx context.Context, old []*engine.Container) ([]DrainOutcome, error) {
	if len(old) == 0 {
		return nil, nil
	}
	s.enter(PhaseDrain, "stopping the old container(s)", "drain", s.cfg.Drain)
	outs, err := s.stopAll(ctx, old)
	if err != nil {
		return outs, err
	}
	s.enter(PhaseRemove, "removing the old container(s)")
	return outs, s.removeAll(ctx, old)
}

// stopAll stops containers concurrently, each with its stop signal and the
// drain window as stop timeout.
func (s *Swapper) stopAll(ctx context.Context, cs []*engine.Container) ([]DrainOutcome, error) {
	type outcome struct {
		DrainOutcome
		err error
	}
	results := make(chan outcome, len(cs))
	for _, c := range cs {
		go func() {
			start := time.Now()
			// The daemon kills the container when the window ends; the
			// margin covers the kill and the API call itself.
			stopCtx, cancel := context.WithTimeout(ctx, s.cfg.Drain+30*time.Second)
			defer cancel()
			err := s.Docker.Stop(stopCtx, c.ID, s.cfg.Drain)
			if errors.Is(err, engine.ErrNotFound) {
				err = nil // already gone
			}
			o := outcome{DrainOutcome: DrainOutcome{Container: c.Name, Took: time.Since(start)}, err: err}
			if err == nil {
				if after, ierr := s.Docker.Inspect(stopCtx, c.ID); ierr == nil {
					o.ExitCode = after.State.ExitCode
					o.Killed = after.State.ExitCode == 137 && !after.State.OOMKilled
				}
			}
			results <- o
		}()
	}
	var outs []DrainOutcome
	var errs []error
	for range cs {
		o := <-results
		if o.err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", o.Container, o.err))
			continue
		}
		note := "exited"
		if o.Killed {
			note = "killed: did not exit within the drain window"
		}
		s.log.Info("stopped", "phase", s.phase.String(), "container", o.Container, "took", round(o.Took), "exit code", o.ExitCode, "how", note)
		outs = append(outs, o.DrainOutcome)
	}
	return outs, errors.Join(errs...)
}

// removeAll removes containers; one already gone is fine.
func (s *Swapper) removeAll(ctx context.Context, cs []*engine.Container) error {
	var errs []error
	for _, c := range cs {
		if err := s.Docker.Remove(ctx, c.ID); err != nil && !errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
