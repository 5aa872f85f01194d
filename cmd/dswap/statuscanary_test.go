package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

// statusSwapper answers StatusOf with statuses.
type statusSwapper struct {
	fakeSwapper
	statuses []swap.Status
}

func (s *statusSwapper) StatusOf(context.Context, string) ([]swap.Status, error) {
	return s.statuses, nil
}

func canaryStatus(live bool) []swap.Status {
	old := &engine.Container{ID: "1", Name: "web", Image: "myapp:v1", State: engine.State{Status: "running", Running: true, Health: "healthy"}}
	news := &engine.Container{ID: "2", Name: "web-canary-1", Image: "myapp:v2", State: engine.State{Status: "running", Running: true, Health: "healthy"}}
	cs := &swap.CanaryStatus{Weight: 10, Paused: true, Sticky: true,
		Stable: swap.ChildFigures{Services: []string{"web-stable"}},
		Canary: swap.ChildFigures{Services: []string{"web-canary"}}}
	if live {
		cs.Window = 2 * time.Second
		cs.Stable = swap.ChildFigures{Services: []string{"web-stable"}, Requests: 180, Errors: 1, P99: 95 * time.Millisecond, HasP99: true}
		cs.Canary = swap.ChildFigures{Services: []string{"web-canary"}, Requests: 40, Errors: 8, P99: 1100 * time.Millisecond, HasP99: true}
	} else {
		cs.MetricsError = "reading Traefik's metrics: 404 Not Found"
	}
	return []swap.Status{{Service: "web", Containers: []*engine.Container{old, news}, Damage: swap.Damage{Routed: []*engine.Container{old, news}}, Canary: cs}}
}

func TestStatusShowsACanarysLiveFigures(t *testing.T) {
	c, stdout, _, _ := testCLI(t, &statusSwapper{statuses: canaryStatus(true)}, nil)
	require.Equal(t, exitOK, runCLI(context.Background(), c, []string{"status"}))
	out := stdout.String()
	assert.Contains(t, out, "web: canary at 10% (old version 90%, sticky), paused: dswap promote web goes on, dswap abort web goes back\n")
	assert.Regexp(t, `(?m)^  new \(web-canary\) +10% +20\.0 +20% \(8 of 40\) +1\.1s$`, out)
	assert.Regexp(t, `(?m)^  old \(web-stable\) +90% +90\.0 +0\.6% \(1 of 180\) +95ms$`, out)
	assert.Contains(t, out, "over the last 2.0s of Traefik's metrics")

	c, stdout, _, _ = testCLI(t, &statusSwapper{statuses: canaryStatus(true)}, nil)
	require.Equal(t, exitOK, runCLI(context.Background(), c, []string{"status", "--output", "json"}))
	var got []server.ServiceStatus
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	require.Len(t, got, 1)
	cv := got[0].Canary
	require.NotNil(t, cv)
	assert.Equal(t, 10, cv.Weight)
	assert.Equal(t, 90, cv.StableWeight)
	assert.True(t, cv.Paused)
	assert.Equal(t, 2.0, cv.Window)
	require.NotNil(t, cv.Canary)
	assert.Equal(t, 20.0, cv.Canary.RequestsPerSecond)
	assert.InDelta(t, 0.2, cv.Canary.ErrorRate, 1e-9)
	require.NotNil(t, cv.Canary.P99)
	assert.InDelta(t, 1.1, *cv.Canary.P99, 1e-9)
	assert.Equal(t, []string{"web-stable"}, cv.Stable.Services)
}

func TestStatusOfACanaryWithoutMetricsSaysWhy(t *testing.T) {
	c, stdout, _, _ := testCLI(t, &statusSwapper{statuses: canaryStatus(false)}, nil)
	require.Equal(t, exitOK, runCLI(context.Background(), c, []string{"status"}))
	assert.Contains(t, stdout.String(), "web: canary at 10%")
	assert.Contains(t, stdout.String(), "  no live figures: reading Traefik's metrics: 404 Not Found\n")

	c, stdout, _, _ = testCLI(t, &statusSwapper{statuses: canaryStatus(false)}, nil)
	require.Equal(t, exitOK, runCLI(context.Background(), c, []string{"status", "--output", "json"}))
	assert.Contains(t, stdout.String(), `"metrics_error":"reading Traefik's metrics: 404 Not Found"`)
	assert.NotContains(t, stdout.String(), `"stable":`, "no figures without a window")
}
