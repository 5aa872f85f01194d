package swap

import (
	"context"
	"time"

	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/traefik"
)

// What other flows (swap/swarm) share with a container swap, so that a
// Swarm service's route is written, confirmed and undone exactly as a
// container's, and its errors end dswap the same way.

// CommitRoute writes content as the route file of the service with this
// key and waits until Traefik shows exp for this very write (its
// generation); a write Traefik does not confirm is undone (see
// commitRoute). It returns how long Traefik took.
func CommitRoute(ctx context.Context, d Deps, flipTimeout time.Duration, phase Phase, key string, content []byte, exp traefik.Expectation) (time.Duration, error) {
	s := New(d)
	s.cfg.FlipTimeout = flipTimeout
	s.phase = phase
	w, err := s.commitRoute(ctx, key, content, exp)
	return w.took, err
}

// BadInput is an error caused by what the user asked for or by the setup:
// nothing was changed, and the message says what to fix (exit code 2).
func BadInput(format string, args ...any) error { return badInput(format, args...) }

// AsBadInput marks err as bad input, keeping its chain.
func AsBadInput(err error) error { return asBadInput(err) }

// KeyOf is the key (route file, history) of a service that is not a
// compose service, by its name.
func KeyOf(name string) string { return (&Service{Name: name}).Key() }

// CanaryHistory is how a swap's canary steps are kept in its history.
func CanaryHistory(steps []CanaryStep) []history.CanaryStep {
	var out []history.CanaryStep
	for _, c := range steps {
		out = append(out, history.CanaryStep{Weight: c.Weight, Duration: c.Took, Requests: c.Requests, Errors: c.Errors, P99: c.P99, Verdict: c.Verdict, Reason: c.Reason, Warning: c.Warning})
	}
	return out
}
