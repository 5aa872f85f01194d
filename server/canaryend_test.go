package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// endings records the swaps an observer is told of.
type endings struct {
	mu   sync.Mutex
	ends []SwapEnd
}

func (e *endings) SwapEnded(end SwapEnd) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ends = append(e.ends, end)
}
func (e *endings) RouteRepaired(swap.Reconciled) {}
func (e *endings) HookDelivered(string, string)  {}

func (e *endings) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, x := range e.ends {
		out = append(out, x.Kind)
	}
	return out
}

func (e *endings) wait(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(e.kinds()) >= n }, 5*time.Second, 10*time.Millisecond)
}

func TestPromoteRunsAsASwapWithTheCanarySettings(t *testing.T) {
	seen := &endings{}
	_, hs, fb := testServer(t, Options{Observers: []Observer{seen}})
	status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/promote?wait=true",
		`{"canary":"25%,50%","step":"20s","max_error_rate":"1%","max_p99":"+50%","min_requests":20,"sticky":true,"monitor":"30s","lock_wait":"0s"}`, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var out Outcome
	require.NoError(t, json.Unmarshal(body, &out))
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, "myapp:v2", out.To)
	assert.NotEmpty(t, out.ID)

	assert.Equal(t, []string{"promote web lock-wait=0s"}, fb.recorded(), "the body's lock_wait reaches the backend")
	require.Len(t, fb.overs, 1)
	over := fb.overs[0]
	require.NotNil(t, over.Canary)
	assert.Equal(t, "25%,50%", *over.Canary)
	assert.Equal(t, 20*time.Second, *over.Step)
	assert.Equal(t, "1%", *over.MaxErrorRate)
	assert.Equal(t, "+50%", *over.MaxP99)
	assert.Equal(t, 20, *over.MinRequests)
	assert.True(t, *over.Sticky)
	assert.Equal(t, 30*time.Second, *over.Monitor)

	// The run is listed, streamed and told to observers (notifications,
	// metrics) as a promote.
	status, body = call(t, http.MethodGet, hs.URL+"/v1/swaps", nil, nil)
	require.Equal(t, http.StatusOK, status)
	var runs []runView
	require.NoError(t, json.Unmarshal(body, &runs))
	require.Len(t, runs, 1)
	assert.Equal(t, "promote", runs[0].Kind)
	status, body = call(t, http.MethodGet, hs.URL+"/v1/swaps/"+out.ID+"/events?format=ndjson", nil, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), `"msg":"weights applied"`)
	seen.wait(t, 1)
	assert.Equal(t, []string{"promote"}, seen.kinds())
}

func TestAbortAnswersInTheBackgroundAndTakesOnlyItsSettings(t *testing.T) {
	seen := &endings{}
	s, hs, fb := testServer(t, Options{Observers: []Observer{seen}})
	status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/abort", `{"canary":"50%"}`, nil)
	assert.Equal(t, http.StatusBadRequest, status, "an abort runs no step: a canary setting is refused, not ignored")
	assert.Contains(t, string(body), `unknown field \"canary\"`)
	assert.Empty(t, fb.recorded())

	status, body = call(t, http.MethodPost, hs.URL+"/v1/services/web/abort", `{"drain":"5s"}`, nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	var a accepted
	require.NoError(t, json.Unmarshal(body, &a))
	assert.Equal(t, "/v1/swaps/"+a.ID+"/events", a.Events)
	out, err := s.Outcome(context.Background(), a.ID)
	require.NoError(t, err)
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, "myapp:v1", out.To, "an abort ends on the old version")
	assert.Equal(t, []string{"abort web"}, fb.recorded())
	assert.Equal(t, 5*time.Second, *fb.overs[0].Drain)
	seen.wait(t, 1)
	assert.Equal(t, []string{"abort"}, seen.kinds())
}

func TestCanaryEndsAnswerLikeSwaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		result string
		exit   int
	}{
		{"canary failed", &swap.FailedError{Service: "web", Phase: swap.PhaseCanary, Reason: errors.New("error rate 19.6% (98 of 500) > 1% at 50%"), Kept: "myapp:v1 (web) keeps serving"}, http.StatusUnprocessableEntity, "failed", 1},
		{"no paused canary", swap.ErrBadInput, http.StatusBadRequest, "error", 2},
		{"lock held", &lock.HeldError{Name: "web"}, http.StatusConflict, "error", 3},
	} {
		for _, kind := range []string{"promote", "abort"} {
			t.Run(tc.name+" "+kind, func(t *testing.T) {
				fb := &fakeBackend{ended: func(context.Context, string, string, swap.Overrides, *slog.Logger) (*swap.Result, error) {
					return nil, tc.err
				}}
				_, hs, _ := testServer(t, Options{Backend: fb})
				status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/"+kind+"?wait=true", nil, nil)
				assert.Equal(t, tc.status, status, string(body))
				var out Outcome
				require.NoError(t, json.Unmarshal(body, &out))
				assert.Equal(t, tc.result, out.Result)
				assert.Equal(t, tc.exit, out.ExitCode)
				assert.Equal(t, "web", out.Service)
				assert.NotEmpty(t, out.Error)
			})
		}
	}
}

func TestCanaryEndsNeedTheTokenAndACapacity(t *testing.T) {
	release := make(chan struct{})
	fb := &fakeBackend{ended: func(ctx context.Context, kind, service string, _ swap.Overrides, _ *slog.Logger) (*swap.Result, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &swap.Result{Service: service}, nil
	}}
	_, hs, _ := testServer(t, Options{Backend: fb, MaxRunning: 1})
	for _, path := range []string{"/v1/services/web/promote", "/v1/services/web/abort"} {
		status, _ := call(t, http.MethodPost, hs.URL+path, nil, map[string]string{"Authorization": "Bearer wrong"})
		assert.Equal(t, http.StatusUnauthorized, status, path)
	}
	assert.Empty(t, fb.recorded())

	status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/promote", nil, nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	status, body = call(t, http.MethodPost, hs.URL+"/v1/services/api/abort", nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, status, "the sidecar's bound on runs at once counts promotes and aborts: %s", body)
	close(release)
}

func TestCanaryEndRequestRoundTrips(t *testing.T) {
	canary, wait := "10%,50%", 3*time.Second
	req := CanaryEndRequest{}
	req.Canary, req.LockWait = &canary, &wait
	b, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"canary":"10%,50%","lock_wait":"3s"}`, string(b))
	var back CanaryEndRequest
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, canary, *back.Canary)
	assert.Equal(t, wait, *back.LockWait)
}
