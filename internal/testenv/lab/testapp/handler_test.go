package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSleeper records the delays handlers ask for instead of sleeping.
type fakeSleeper struct {
	mu    sync.Mutex
	slept []time.Duration
}

func (f *fakeSleeper) sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	return nil
}

// newTestService returns a service whose clock reads now and whose sleeps
// are recorded by the returned fakeSleeper.
func newTestService(cfg config, start, now time.Time) (*service, *fakeSleeper) {
	s := newService(cfg, "host-1", start)
	fs := &fakeSleeper{}
	s.sleep = fs.sleep
	s.now = func() time.Time { return now }
	return s, fs
}

func TestRootAnswersVersionAfterDelay(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		envDelay   time.Duration
		target     string
		wantStatus int
		wantSlept  []time.Duration
	}{
		{name: "no delay", target: "/", wantStatus: 200, wantSlept: []time.Duration{0}},
		{name: "env delay", envDelay: time.Second, target: "/", wantStatus: 200, wantSlept: []time.Duration{time.Second}},
		{name: "query wins over env", envDelay: time.Second, target: "/?delay=3s", wantStatus: 200, wantSlept: []time.Duration{3 * time.Second}},
		{name: "query zero wins over env", envDelay: time.Second, target: "/?delay=0s", wantStatus: 200, wantSlept: []time.Duration{0}},
		{name: "any path answers", target: "/some/path?delay=10ms", wantStatus: 200, wantSlept: []time.Duration{10 * time.Millisecond}},
		{name: "bad query delay", target: "/?delay=3", wantStatus: 400},
		{name: "negative query delay", target: "/?delay=-1s", wantStatus: 400},
		{name: "too long query delay", target: "/?delay=11m", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, fs := newTestService(config{Version: "v1", Delay: tt.envDelay}, start, start)
			rec := httptest.NewRecorder()
			svc.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))

			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, tt.wantSlept, fs.slept)
			if tt.wantStatus == http.StatusOK {
				assert.Equal(t, "v1", rec.Body.String())
				assert.Equal(t, "v1", rec.Header().Get("X-Version"))
				assert.Equal(t, "host-1", rec.Header().Get("X-Container"))
			}
		})
	}
}

func TestHealthzFollowsReadiness(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		cfg        config
		elapsed    time.Duration
		wantStatus int
		wantBody   string
	}{
		{name: "ready at once", cfg: config{}, elapsed: 0, wantStatus: 200, wantBody: "ok"},
		{name: "before READY_AFTER", cfg: config{ReadyAfter: 2 * time.Second}, elapsed: time.Second, wantStatus: 503, wantBody: "not ready"},
		{name: "at READY_AFTER", cfg: config{ReadyAfter: 2 * time.Second}, elapsed: 2 * time.Second, wantStatus: 200, wantBody: "ok"},
		{name: "never healthy", cfg: config{NeverHealthy: true}, elapsed: time.Hour, wantStatus: 503, wantBody: "NEVER_HEALTHY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newTestService(tt.cfg, start, start.Add(tt.elapsed))
			rec := httptest.NewRecorder()
			svc.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Contains(t, rec.Body.String(), tt.wantBody)
		})
	}
}

func TestRootSleepsForRealAndStopsWhenClientLeaves(t *testing.T) {
	svc := newService(config{Version: "v1"}, "host-1", time.Now())
	srv := httptest.NewServer(svc.routes())
	defer srv.Close()

	began := time.Now()
	resp, err := http.Get(srv.URL + "/?delay=100ms")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "v1", string(body))
	assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/?delay=5m", nil)
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSleepContext(t *testing.T) {
	require.NoError(t, sleepContext(context.Background(), 0))
	require.NoError(t, sleepContext(context.Background(), time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, sleepContext(ctx, time.Hour), context.Canceled)
}

func TestHealthFailsAfterFailAfter(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	svc := newService(config{Version: "v2", ReadyAfter: time.Second, FailAfter: 2 * time.Second}, "h", start)
	svc.now = func() time.Time { return now }
	for _, c := range []struct {
		at    time.Duration
		ready bool
	}{{0, false}, {time.Second, true}, {2900 * time.Millisecond, true}, {3 * time.Second, false}, {time.Hour, false}} {
		now = start.Add(c.at)
		if got := svc.ready(); got != c.ready {
			t.Errorf("at +%s ready=%t, want %t", c.at, got, c.ready)
		}
	}
}
