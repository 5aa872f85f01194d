package swap

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/traefik"
)

// slowTraefik shows no write naming web-2 before its timeout ends, as
// Traefik's API does when it refuses a file or has not reloaded yet.
type slowTraefik struct{ fakeTraefik }

func (f slowTraefik) WaitApplied(ctx context.Context, exp traefik.Expectation, timeout time.Duration) (time.Duration, error) {
	if !strings.Contains(fmt.Sprint(exp.Servers), "web-2") {
		return f.fakeTraefik.WaitApplied(ctx, exp, timeout)
	}
	f.w.record("confirm %v timed out after %s", flatten(exp.Servers), timeout)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
		return timeout, fmt.Errorf("Traefik did not show the route within %s", timeout)
	}
}

func TestUpRollsBackWhenTraefikDoesNotConfirmWithinTheFlipTimeout(t *testing.T) {
	w := newWorld()
	s := w.swapper()
	s.Traefik = slowTraefik{fakeTraefik{w}}
	flipTimeout := 30 * time.Millisecond
	start := time.Now()
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{FlipTimeout: &flipTimeout}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhaseFlip, failed.Phase)
	assert.ErrorContains(t, err, "Traefik did not show the route within 30ms")
	assert.Contains(t, failed.Kept, "myapp:v1 (web) keeps serving")
	assert.GreaterOrEqual(t, time.Since(start), flipTimeout, "the flip waited its whole timeout")
	assert.Equal(t, []string{
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] timed out after 30ms",
		"route web http://web:8080",
		"confirm [http://web:8080] err=<nil>",
		// Traefik may have routed to web-2 before the route went back.
		"stop id-web-2 5s",
		"remove id-web-2",
	}, w.log, "the old container was never stopped; the route it had is back, confirmed; the new one got its drain window")
	assertSameRoute(t, routeFor(w.containers["id-web"]), w.routes["web"], "the previous route file is back")
	assert.Equal(t, []time.Duration{flipTimeout}, w.waits, "putting the old route back is confirmed with the same timeout")
}

func TestEveryConfirmationWaitsTheFlipTimeout(t *testing.T) {
	w := newWorld()
	flipTimeout := 7 * time.Second
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{FlipTimeout: &flipTimeout}})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{flipTimeout}, w.waits)
}

// Without Traefik's API dswap waits Traefik's reload throttle instead of
// confirming, and its output says which of the two it did.
func TestUpWithoutTraefikAPIWaitsAndSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		traefik func(w *world) Traefik
		want    string
	}{
		{"API", func(w *world) Traefik { return fakeTraefik{w} }, `"confirmed by":"Traefik API"`},
		{"no API", func(*world) Traefik { return &traefik.Unconfirmed{Wait: 5 * time.Millisecond} }, `"confirmed by":"waiting 5ms (no Traefik API)"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			var out bytes.Buffer
			s := w.swapper()
			s.Traefik = tc.traefik(w)
			s.log = slog.New(slog.NewJSONHandler(&out, nil))
			res, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
			require.NoError(t, err)
			assert.Equal(t, []string{"web-2"}, res.New)
			assert.Contains(t, out.String(), tc.want)
		})
	}
}
