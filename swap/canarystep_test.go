package swap

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/traefik"
)

// TestStepShortOfRequests: a step that still has fewer than --min-requests
// once its extensions are over fails, or with --too-few-requests warn
// passes with a warning that says so with the figures.
func TestStepShortOfRequests(t *testing.T) {
	t0 := time.Now()
	few := []traefik.Snapshot{
		{At: t0, Services: map[string]traefik.ServiceStats{"web-canary@file": stats(0, 0, 0.1), "web-stable@file": stats(0, 0, 0.1)}},
		{At: t0.Add(time.Second), Services: map[string]traefik.ServiceStats{"web-canary@file": stats(3, 0, 0.1), "web-stable@file": stats(60, 0, 0.1)}},
	}
	for _, warn := range []bool{false, true} {
		s := newWorld().swapper()
		s.Metrics = &snapshots{list: few}
		s.cfg.Canary = CanaryPolicy{Weights: []int{5}, Step: 10 * time.Millisecond, MaxErrorRate: 0.01, MinRequests: 50, WarnTooFew: warn}
		step, err := s.runStep(context.Background(), 5, []string{"web-stable"}, []string{"web-canary"})
		require.NotNil(t, step)
		assert.Equal(t, 3, step.Requests)
		if !warn {
			require.ErrorIs(t, err, ErrCanaryFailed)
			assert.Equal(t, "fail", step.Verdict)
			assert.Contains(t, step.Reason, "only 3 request(s) reached the new version at 5%, fewer than --min-requests 50")
			assert.Contains(t, step.Reason, "--too-few-requests warn", "the message names the way to pass such a step")
			assert.Empty(t, step.Warning)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, "pass", step.Verdict)
		assert.Contains(t, step.Warning, "only 3 request(s) reached the new version at 5%, fewer than --min-requests 50")
		assert.Contains(t, step.Warning, "passed unjudged")
	}
}

// TestStepOverTheLimitFailsEvenWhenShortStepsWarn: --too-few-requests warn
// passes only a step that could not be judged; one judged bad still fails.
func TestStepOverTheLimitFailsEvenWhenShortStepsWarn(t *testing.T) {
	t0 := time.Now()
	s := newWorld().swapper()
	s.Metrics = &snapshots{list: []traefik.Snapshot{
		{At: t0, Services: map[string]traefik.ServiceStats{}},
		{At: t0.Add(time.Second), Services: map[string]traefik.ServiceStats{"web-canary@file": stats(100, 20, 0.1)}},
	}}
	s.cfg.Canary = CanaryPolicy{Weights: []int{5}, Step: time.Minute, MaxErrorRate: 0.01, MinRequests: 50, WarnTooFew: true}
	step, err := s.runStep(context.Background(), 5, []string{"web-stable"}, []string{"web-canary"})
	require.ErrorIs(t, err, ErrCanaryFailed)
	assert.Equal(t, "fail", step.Verdict)
	assert.Equal(t, "error rate 20% (20 of 100) > 1% at 5%", step.Reason)
}

// TestStepEventCarriesItsFigures: each judged step is one event whose
// attributes are the figures, for --output json and the event stream.
func TestStepEventCarriesItsFigures(t *testing.T) {
	t0 := time.Now()
	var buf bytes.Buffer
	s := newWorld().swapper()
	s.log = slog.New(slog.NewJSONHandler(&buf, nil))
	s.Metrics = &snapshots{list: []traefik.Snapshot{
		{At: t0, Services: map[string]traefik.ServiceStats{}},
		{At: t0.Add(time.Second), Services: map[string]traefik.ServiceStats{"web-canary@file": stats(500, 98, 0.3), "web-stable@file": stats(9500, 2, 0.1)}},
	}}
	s.cfg.Canary = CanaryPolicy{Weights: []int{5}, Step: time.Minute, MaxErrorRate: 0.01, MinRequests: 50}
	_, err := s.runStep(context.Background(), 5, []string{"web-stable"}, []string{"web-canary"})
	require.ErrorIs(t, err, ErrCanaryFailed)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &ev), buf.String())
	assert.Equal(t, "canary step failed", ev["msg"])
	assert.Equal(t, "WARN", ev["level"])
	assert.Equal(t, "canary", ev["phase"])
	assert.Equal(t, 5.0, ev["weight"])
	assert.Equal(t, "fail", ev["verdict"])
	assert.Equal(t, 500.0, ev["requests"])
	assert.Equal(t, 98.0, ev["errors"])
	assert.Equal(t, 0.196, ev["error_rate"])
	assert.NotEmpty(t, ev["p99"])
	assert.NotEmpty(t, ev["stable_p99"])
	assert.Equal(t, "error rate 19.6% (98 of 500) > 1% at 5%", ev["reason"])
}

// TestSlowCanaryFailsBeforeTheStepEnds: a p99 over --max-p99 on enough
// requests takes the canary out at the next read, as an error rate does,
// not at the end of the step.
func TestSlowCanaryFailsBeforeTheStepEnds(t *testing.T) {
	t0 := time.Now()
	s := newWorld().swapper()
	s.Metrics = &snapshots{list: []traefik.Snapshot{
		{At: t0, Services: map[string]traefik.ServiceStats{}},
		{At: t0.Add(time.Second), Services: map[string]traefik.ServiceStats{"web-canary@file": stats(60, 0, 1.2), "web-stable@file": stats(1140, 0, 0.1)}},
	}}
	s.cfg.Canary = CanaryPolicy{Weights: []int{5}, Step: time.Minute, MaxP99: 200 * time.Millisecond, MinRequests: 50}
	start := time.Now()
	step, err := s.runStep(context.Background(), 5, []string{"web-stable"}, []string{"web-canary"})
	require.ErrorIs(t, err, ErrCanaryFailed)
	assert.Less(t, time.Since(start), 10*time.Second, "failed at a read, not after the minute")
	assert.Equal(t, "fail", step.Verdict)
	assert.Contains(t, step.Reason, "> 200ms at 5%")
}

// TestFailedCanaryIsDrained: the canary served, so after the route went
// back its container gets the stop signal and the drain window (requests
// in flight to it finish) before it is removed, not a forced removal.
func TestFailedCanaryIsDrained(t *testing.T) {
	t0 := time.Now()
	w := newWorld()
	s := w.swapper()
	s.Metrics = &snapshots{list: []traefik.Snapshot{
		{At: t0, Services: map[string]traefik.ServiceStats{}},
		{At: t0, Services: map[string]traefik.ServiceStats{}},
		{At: t0.Add(time.Second), Services: map[string]traefik.ServiceStats{"web-canary@file": stats(100, 20, 0.1)}},
	}}
	step := time.Minute
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Canary: strp("5%"), Step: &step, MaxErrorRate: strp("1%")}})
	require.ErrorIs(t, err, ErrCanaryFailed)
	var stop, remove int = -1, -1
	for i, l := range w.log {
		if strings.HasPrefix(l, "stop id-web-") && stop < 0 {
			stop = i
		}
		if strings.HasPrefix(l, "remove id-web-") && remove < 0 {
			remove = i
		}
	}
	require.NotEqual(t, -1, stop, "the canary got its stop signal: %v", w.log)
	assert.Less(t, stop, remove, "stopped with the drain window, then removed: %v", w.log)
	assert.Contains(t, w.log[stop], " 5s", "with the service's drain window")
	assert.Equal(t, []string{"web=myapp:v1"}, w.running())
}
