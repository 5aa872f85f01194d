package swap

import (
	"context"
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
