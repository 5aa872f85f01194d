package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitDone waits (bounded) for the run's clients to stop by themselves.
func waitDone(t *testing.T, run *Run, within time.Duration) {
	t.Helper()
	select {
	case <-run.Done():
	case <-time.After(within):
		t.Fatalf("run did not stop by itself within %s", within)
	}
}

// sleepOrGone sleeps d unless the client goes away first, so that test
// servers never outlive their clients.
func sleepOrGone(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

func TestRunCountsAnswersAndSendsHostAndQuery(t *testing.T) {
	var badHost, badQuery, arrived atomic.Int64
	// The first four requests wait for each other (for 5 s at most): each
	// client has one request in flight, so four at once can only come from
	// four clients, however the scheduler orders their start. Without the
	// barrier, two clients could send all 50 before the others began.
	allIn := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := arrived.Add(1); n <= 4 {
			if n == 4 {
				close(allIn)
			}
			select {
			case <-allIn:
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}
		if r.Host != "app.test" {
			badHost.Add(1)
		}
		if r.URL.Query().Get("delay") != "1ms" {
			badQuery.Add(1)
		}
		fmt.Fprintln(w, "v1") // the trailing newline must be trimmed
	}))
	defer srv.Close()

	run, err := Start(context.Background(), Options{URL: srv.URL + "/", Host: "app.test", Query: "delay=1ms", Clients: 4, MaxRequests: 50, MaxDuration: 10 * time.Second})
	require.NoError(t, err)
	waitDone(t, run, 10*time.Second)
	rep := run.Stop()

	assert.Equal(t, 50, rep.Total, "MaxRequests is an exact bound")
	assert.Equal(t, 50, rep.OK)
	assert.Equal(t, 0, rep.Failed)
	assert.Equal(t, map[string]int{"v1": 50}, rep.ByVersion)
	assert.Equal(t, 50, run.Count())
	assert.Zero(t, badHost.Load())
	assert.Zero(t, badQuery.Load())
	assert.Same(t, rep, run.Stop(), "Stop is idempotent")
	clients := map[int]bool{}
	for _, r := range rep.Results {
		clients[r.Client] = true
	}
	assert.Len(t, clients, 4)
}

func TestRunRecordsFailures(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte("v1"))
	}))
	defer srv.Close()

	run, err := Start(context.Background(), Options{URL: srv.URL, Clients: 3, MaxRequests: 30, MaxDuration: 10 * time.Second})
	require.NoError(t, err)
	waitDone(t, run, 10*time.Second)
	rep := run.Stop()

	assert.Equal(t, 30, rep.Total)
	assert.Equal(t, 10, rep.Failed)
	assert.Equal(t, 20, rep.OK)
	assert.Equal(t, map[int]int{200: 20, 502: 10}, rep.ByStatus)
	for _, f := range rep.Failures() {
		assert.Equal(t, 502, f.Status)
		assert.Equal(t, "HTTP 502: Bad Gateway", f.Err)
		assert.Empty(t, f.Version)
	}
	assert.Contains(t, rep.Summary(), "failures 502=10")
}

func TestRunStopsAtMaxDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sleepOrGone(r, 5*time.Millisecond)
		_, _ = w.Write([]byte("v1"))
	}))
	defer srv.Close()

	began := time.Now()
	run, err := Start(context.Background(), Options{URL: srv.URL, Clients: 2, MaxDuration: 200 * time.Millisecond})
	require.NoError(t, err)
	waitDone(t, run, 5*time.Second)
	rep := run.Stop()
	require.NotZero(t, rep.Total)
	for _, r := range rep.Results {
		assert.True(t, r.Start.Before(began.Add(200*time.Millisecond+10*time.Millisecond)), "no request starts after MaxDuration")
	}
}

func TestRunStopWaitsForInFlight(t *testing.T) {
	entered := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		sleepOrGone(r, 200*time.Millisecond)
		_, _ = w.Write([]byte("v1"))
	}))
	defer srv.Close()

	run, err := Start(context.Background(), Options{URL: srv.URL, Clients: 2, MaxDuration: time.Minute})
	require.NoError(t, err)
	<-entered
	<-entered
	rep := run.Stop()
	assert.Equal(t, 2, rep.Total, "both in-flight requests finish and nothing new starts")
	assert.Equal(t, 2, rep.OK)
	assert.Zero(t, rep.Aborted)
}

func TestRunContextEndAbortsInFlight(t *testing.T) {
	entered := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		sleepOrGone(r, time.Minute)
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	run, err := Start(ctx, Options{URL: srv.URL, Clients: 3, MaxDuration: time.Minute})
	require.NoError(t, err)
	for range 3 {
		<-entered
	}
	cancel()
	waitDone(t, run, 5*time.Second)
	rep := run.Stop()
	assert.Zero(t, rep.Total, "aborted requests say nothing about the target")
	assert.Equal(t, 3, rep.Aborted)
	assert.Contains(t, rep.Summary(), "3 aborted")
}

func TestRunTimeoutAndHung(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("slow") {
			sleepOrGone(r, time.Minute)
			return
		}
		sleepOrGone(r, 60*time.Millisecond)
		_, _ = w.Write([]byte("v1"))
	}))
	defer srv.Close()

	tests := []struct {
		name       string
		query      string
		wantFailed int
		wantHung   int
		wantErr    string
	}{
		{name: "timeout is a failure and hung", query: "slow=1", wantFailed: 2, wantHung: 2, wantErr: "context deadline exceeded"},
		{name: "slow success is hung but not failed", query: "", wantFailed: 0, wantHung: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, err := Start(context.Background(), Options{URL: srv.URL, Query: tt.query, Clients: 1, MaxRequests: 2, MaxDuration: 10 * time.Second, Timeout: 100 * time.Millisecond, Hung: 50 * time.Millisecond})
			require.NoError(t, err)
			waitDone(t, run, 5*time.Second)
			rep := run.Stop()
			assert.Equal(t, 2, rep.Total)
			assert.Equal(t, tt.wantFailed, rep.Failed)
			assert.Equal(t, tt.wantHung, rep.Hung)
			for _, f := range rep.Failures() {
				assert.Zero(t, f.Status)
				assert.Contains(t, f.Err, tt.wantErr)
			}
		})
	}
}

func TestRunWaitVersion(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Slow enough that the run outlasts the short wait below.
		time.Sleep(time.Millisecond)
		// The "swap": the first 20 requests get v1, later ones v2.
		if n.Add(1) <= 20 {
			_, _ = w.Write([]byte("v1"))
			return
		}
		_, _ = w.Write([]byte("v2"))
	}))
	defer srv.Close()

	run, err := Start(context.Background(), Options{URL: srv.URL, Clients: 4, MaxRequests: 2000, MaxDuration: 10 * time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, run.WaitVersion(ctx, "v1"))
	require.NoError(t, run.WaitVersion(ctx, "v2"))

	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	err = run.WaitVersion(short, "v9")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), `seen: "v1", "v2"`)

	waitDone(t, run, 10*time.Second)
	err = run.WaitVersion(context.Background(), "v9")
	require.ErrorIs(t, err, errRunEnded)

	rep := run.Stop()
	assert.Equal(t, 2000, rep.Total)
	assert.Equal(t, map[string]int{"v1": 20, "v2": 1980}, rep.ByVersion)
	assert.Empty(t, rep.MixedAfter("v2"), "the server never went back to v1")
	assert.False(t, rep.FirstReceived("v2").Before(rep.LastReceived("v1").Add(-time.Second)))
}

func TestRunReusesConnectionsAndIgnoresRedirects(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			// Following this would send traffic off the machine.
			http.Redirect(w, r, "http://example.com/", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("v1"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	run, err := Start(context.Background(), Options{URL: srv.URL + "/", Clients: 2, MaxRequests: 100, MaxDuration: 10 * time.Second})
	require.NoError(t, err)
	waitDone(t, run, 10*time.Second)
	assert.Equal(t, 100, run.Stop().OK)
	// Go's transport may dial an extra connection while a finished one is
	// on its way back to the pool, so the bound is loose; without
	// keep-alive it would be 100.
	assert.Less(t, conns.Load(), int64(20), "closed-loop clients keep their connections alive")

	run, err = Start(context.Background(), Options{URL: srv.URL + "/redirect", Clients: 1, MaxRequests: 3, MaxDuration: 10 * time.Second})
	require.NoError(t, err)
	waitDone(t, run, 10*time.Second)
	rep := run.Stop()
	assert.Equal(t, 3, rep.Failed)
	assert.Equal(t, map[int]int{302: 3}, rep.ByStatus)
}

func TestStartRejectsBadOptions(t *testing.T) {
	_, err := Start(context.Background(), Options{URL: "http://example.com/", MaxDuration: time.Second})
	require.ErrorContains(t, err, "127.0.0.1 or localhost")
	_, err = Start(context.Background(), Options{URL: "http://127.0.0.1/"})
	require.ErrorContains(t, err, "MaxDuration")
}
