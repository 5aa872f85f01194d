package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

func TestSwapEvent(t *testing.T) {
	res := &swap.Result{Service: "web", FromImage: "app:v1", ToImage: "app:v2", New: []string{"web-2"},
		HealthyAfter: time.Second, RoutedAfterHealthy: 200 * time.Millisecond, Total: 3 * time.Second,
		Drained: []swap.DrainOutcome{{Took: 2 * time.Second}}}
	health := &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy"), Kept: "app:v1 (web-1)",
		HealthLog: []engine.HealthResult{{Output: "old"}, {Output: " 503 from /health \n"}}}
	monitor := &swap.FailedError{Service: "web", Phase: swap.PhaseMonitor, Reason: errors.New("web-2 died")}
	for _, tc := range []struct {
		name       string
		res        *swap.Result
		err        error
		want       bool
		result     string
		healthLast string
	}{
		{"swapped", res, nil, true, ResultSwapped, ""},
		{"failed in health", res, health, true, ResultFailed, "503 from /health"},
		{"rolled back by the monitor", res, monitor, true, ResultRolledBack, ""},
		{"noop", &swap.Result{Service: "web", Noop: true}, nil, false, "", ""},
		{"bad input", nil, swap.ErrBadInput, false, "", ""},
		{"internal error mid-way", res, errors.New("engine went away"), true, ResultError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := SwapEvent("swap", "api", tc.res, tc.err)
			require.Equal(t, tc.want, ok)
			if !ok {
				return
			}
			assert.Equal(t, tc.result, ev.Result)
			assert.Equal(t, "web", ev.Service)
			assert.Equal(t, tc.healthLast, ev.HealthOutput)
			assert.Equal(t, 2.0, ev.Durations.Drain)
			assert.Contains(t, ev.Text(), "app:v1 → app:v2")
			if tc.err != nil {
				assert.Contains(t, ev.Text(), "reason: ")
			}
		})
	}
}

func TestWebhookIsSignedAndRetried(t *testing.T) {
	var calls atomic.Int32
	got := make(chan Event, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway) // a receiver being restarted
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(SignatureHeader) != Sign([]byte("s3cret"), body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev Event
		_ = json.Unmarshal(body, &ev)
		got <- ev
	}))
	defer srv.Close()
	var delivered atomic.Value
	n, err := New(Options{URLs: []string{srv.URL + "/hook?token=x"}, Secret: "s3cret", Delivered: func(kind, outcome string) { delivered.Store(kind + " " + outcome) }})
	require.NoError(t, err)
	assert.Equal(t, []string{"http://" + srv.Listener.Addr().String() + "/…"}, n.Targets(), "no path or query in logs")
	n.Notify(context.Background(), Event{Kind: "swap", Service: "web", Result: ResultSwapped})
	select {
	case ev := <-got:
		assert.Equal(t, "web", ev.Service)
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook got no valid delivery")
	}
	require.NoError(t, n.Wait(context.Background()))
	assert.Equal(t, "webhook delivered", delivered.Load())
	assert.Equal(t, int32(2), calls.Load())
}

func TestFailedNotificationIsOnlyLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	var outcome atomic.Value
	n, err := New(Options{URLs: []string{srv.URL}, Delivered: func(_, o string) { outcome.Store(o) }})
	require.NoError(t, err)
	n.Notify(context.Background(), Event{Service: "web"})
	require.NoError(t, n.Wait(context.Background()))
	assert.Equal(t, "failed", outcome.Load())
}

func TestBadURLsAreRefusedAtStart(t *testing.T) {
	for _, u := range []string{"not a url", "nosuchservice://token@host/x"} {
		_, err := New(Options{URLs: []string{u}})
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "token@", "the error must not show secrets")
	}
	n, err := New(Options{})
	require.NoError(t, err)
	assert.Nil(t, n)
	n.Notify(context.Background(), Event{}) // a nil notifier does nothing
}

func TestShoutrrrGeneric(t *testing.T) {
	got := make(chan map[string]string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer srv.Close()
	n, err := New(Options{URLs: []string{"generic://" + srv.Listener.Addr().String() + "/notify?disabletls=yes&template=json"}})
	require.NoError(t, err)
	n.Notify(context.Background(), Event{Kind: "swap", Service: "web", From: "a:1", To: "a:2", Result: ResultSwapped})
	require.NoError(t, n.Wait(context.Background()))
	select {
	case m := <-got:
		assert.Equal(t, "dswap: web swapped to a:2", m["title"])
		assert.Contains(t, m["message"], "a:1 → a:2")
	case <-time.After(5 * time.Second):
		t.Fatal("shoutrrr's generic service sent nothing")
	}
}

func TestCanaryEndTitles(t *testing.T) {
	promoted, ok := SwapEvent("promote", "api", &swap.Result{Service: "web", FromImage: "app:v1", ToImage: "app:v2"}, nil)
	require.True(t, ok)
	assert.Equal(t, "dswap: canary of web promoted: app:v2 takes all the traffic", promoted.Title())
	aborted, ok := SwapEvent("abort", "api", &swap.Result{Service: "web", FromImage: "app:v2", ToImage: "app:v1"}, nil)
	require.True(t, ok)
	assert.Equal(t, "dswap: canary of web aborted: app:v1 takes all the traffic again", aborted.Title())
	assert.Contains(t, aborted.Text(), "app:v2 → app:v1")
}

func TestPausedCanaryEvent(t *testing.T) {
	ev, ok := SwapEvent("swap", "api", &swap.Result{Service: "web", FromImage: "app:v1", ToImage: "app:v2", Paused: "canary paused: app:v2 takes 10% of the traffic"}, nil)
	require.True(t, ok)
	assert.Equal(t, ResultPaused, ev.Result)
	assert.Equal(t, "dswap: canary of web paused: app:v2 takes part of the traffic", ev.Title())
	assert.Contains(t, ev.Text(), "reason: canary paused: app:v2 takes 10% of the traffic")
}
