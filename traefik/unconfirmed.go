package traefik

import (
	"context"
	"fmt"
	"time"
)

// Throttle is Traefik's default providers.providersThrottleDuration: a
// provider's configuration changes are applied at most once per window,
// so a change soon after another waits for the rest of it, and without an
// API a change is applied at the latest one window after it was written.
const Throttle = 2 * time.Second

// Unconfirmed stands in for the API when the user says Traefik has none
// (--traefik-api none). A route change cannot be confirmed then; the best
// dswap can do is wait out the file provider's reload throttle (Throttle)
// plus a margin. The output says so, because this is weaker than a
// confirmation.
type Unconfirmed struct {
	Wait time.Duration
}

// WaitApplied waits u.Wait, or until ctx ends.
func (u *Unconfirmed) WaitApplied(ctx context.Context, _ Expectation, _ time.Duration) (time.Duration, error) {
	t := time.NewTimer(u.Wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, fmt.Errorf("waiting for Traefik to reload: %w", ctx.Err())
	case <-t.C:
		return u.Wait, nil
	}
}

// ConfirmedBy says that a change is waited for, not confirmed.
func (u *Unconfirmed) ConfirmedBy() string {
	return fmt.Sprintf("waiting %s (no Traefik API)", u.Wait)
}

// Runtime returns nil: without an API nothing can be read.
func (u *Unconfirmed) Runtime(context.Context) (*Runtime, error) { return nil, nil }
