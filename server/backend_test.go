package server

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// oneService is an Engine with one running container of service web; a
// swap of it gets no further than its lock in these tests.
type oneService struct{ swap.Docker }

func (oneService) List(context.Context, engine.ListFilter) ([]*engine.Container, error) {
	return []*engine.Container{{
		ID: "id-web", Name: "web", Image: "myapp:v1", ImageID: "sha256:v1",
		Labels: map[string]string{"dswap.service": "web"},
		State:  engine.State{Running: true, Status: "running"},
	}}, nil
}

// busyLocks is held by another dswap: Lock reports the holder as a
// waiting Dir would, then gives up.
type busyLocks struct{ asked []lock.Wait }

func (l *busyLocks) Lock(_ context.Context, key string, w lock.Wait) (func(), error) {
	l.asked = append(l.asked, w)
	max := 2 * time.Minute // the sidecar's --lock-wait
	if w.Max != nil {
		max = *w.Max
	}
	h := lock.Holder{Host: "h", PID: 42, Command: "dswap up"}
	if w.Report != nil {
		w.Report(key, h, max)
	}
	return nil, &lock.HeldError{Name: key, Holder: h, Waited: max}
}

func TestSwapWaitsForTheLockAsItsRequestSaysAndReportsInItsOwnLog(t *testing.T) {
	threeSeconds := 3 * time.Second
	for _, tc := range []struct {
		name     string
		lockWait *time.Duration
		upTo     string
	}{
		{"the sidecar's --lock-wait", nil, `"up to":120000000000}`},
		{"the request's lock_wait", &threeSeconds, `"up to":3000000000}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			locks := &busyLocks{}
			b := &SwapBackend{Deps: swap.Deps{Docker: oneService{}, Locks: locks}}
			var out bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&out, nil))
			_, err := b.Swap(context.Background(), swap.Request{Image: "myapp:v2", Service: "web"}, SwapOptions{LockWait: tc.lockWait}, log)
			require.ErrorIs(t, err, lock.ErrHeld)
			require.Len(t, locks.asked, 1)
			assert.Equal(t, tc.lockWait, locks.asked[0].Max)
			assert.Contains(t, out.String(), `"msg":"waiting for another dswap to finish with this service","phase":"plan","service":"web"`)
			assert.Contains(t, out.String(), tc.upTo)
		})
	}
}
