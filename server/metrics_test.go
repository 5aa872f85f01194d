package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
)

func steps(at time.Time, phases ...any) []swap.Step {
	var out []swap.Step
	for i := 0; i < len(phases); i += 2 {
		out = append(out, swap.Step{Phase: phases[i].(swap.Phase), At: at})
		at = at.Add(phases[i+1].(time.Duration))
	}
	return out
}

func TestMetricsOfSwaps(t *testing.T) {
	m := NewMetrics(func() int { return 2 })
	t0 := time.Now()
	ok := &swap.Result{Service: "web", ToImage: "app:v2", RoutedAfterHealthy: 300 * time.Millisecond, Total: 4 * time.Second,
		Steps: steps(t0, swap.PhasePlan, 100*time.Millisecond, swap.PhaseHealth, 2*time.Second, swap.PhaseFlip, 300*time.Millisecond, swap.PhaseDrain, time.Second, swap.PhaseDone, time.Duration(0))}
	m.SwapEnded(SwapEnd{Kind: "swap", Result: ok, Outcome: NewOutcome(ok, nil)})
	failed := &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy")}
	bad := &swap.Result{Service: "web", ToImage: "app:v3", Total: time.Second, Steps: steps(t0, swap.PhaseHealth, time.Second, swap.PhaseFailed, time.Duration(0))}
	m.SwapEnded(SwapEnd{Kind: "swap", Result: bad, Err: failed, Outcome: NewOutcome(bad, failed)})
	monitor := &swap.FailedError{Service: "web", Phase: swap.PhaseMonitor, Reason: errors.New("died")}
	m.SwapEnded(SwapEnd{Kind: "swap", Result: bad, Err: monitor, Outcome: NewOutcome(bad, monitor)})

	assert.Equal(t, 1.0, testutil.ToFloat64(m.swaps.WithLabelValues("web", "swap", "swapped")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.swaps.WithLabelValues("web", "swap", "failed")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.swaps.WithLabelValues("web", "swap", "rolled-back")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.rollbacks.WithLabelValues("web", "health")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.rollbacks.WithLabelValues("web", "monitor")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.image.WithLabelValues("web", "app:v2")), "a failed swap does not change the image")
	assert.Positive(t, testutil.ToFloat64(m.lastSuccess.WithLabelValues("web")))

	// A second success replaces the image's series.
	ok2 := *ok
	ok2.ToImage = "app:v4"
	m.SwapEnded(SwapEnd{Kind: "swap", Result: &ok2, Outcome: NewOutcome(&ok2, nil)})
	assert.Equal(t, 1, testutil.CollectAndCount(m.image), "one image series per service")

	m.RouteRepaired(swap.Reconciled{Service: "web", Upkeep: swap.UpkeepRouted, Repaired: []string{"web-3"}})
	assert.Equal(t, 1.0, testutil.ToFloat64(m.repairs.WithLabelValues("web", "routed")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.repairs.WithLabelValues("web", "interrupted-swap")))

	out := scrape(t, m.Handler())
	for _, want := range []string{
		`dswap_swap_phase_duration_seconds_sum{phase="health",service="web"} 6`, // 2 s twice, 1 s twice
		`dswap_swap_phase_duration_seconds_sum{phase="flip",service="web"} 0.6`,
		`dswap_swap_healthy_to_traffic_seconds_count{service="web"} 2`,
		`dswap_swaps_running 2`,
	} {
		assert.True(t, strings.Contains(out, want), "the scrape lacks %s", want)
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

func TestMetricsNeedTheToken(t *testing.T) {
	m := NewMetrics(nil)
	s, err := New(t.Context(), Options{Backend: &fakeBackend{}, Token: "tok", Metrics: m, Observers: []Observer{m}})
	require.NoError(t, err)
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "go_goroutines")

	// A registry notification with a wrong token is counted.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/hooks/registry", strings.NewReader("{}")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.hooks.WithLabelValues("registry", "unauthorized")))
}
