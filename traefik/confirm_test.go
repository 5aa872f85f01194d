package traefik

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runtimeWith(servers map[string][]string, routers map[string]RouterStatus) *Runtime {
	rt := &Runtime{Services: map[string]ServiceStatus{}, Routers: routers}
	for name, urls := range servers {
		var s ServiceStatus
		s.LoadBalancer = &struct {
			Servers []struct {
				URL string `json:"url"`
			} `json:"servers"`
		}{}
		for _, u := range urls {
			s.LoadBalancer.Servers = append(s.LoadBalancer.Servers, struct {
				URL string `json:"url"`
			}{u})
		}
		rt.Services[name] = s
	}
	return rt
}

func TestExpectationCheck(t *testing.T) {
	exp := Expectation{Servers: map[string][]string{"web": {"http://web-2:8080"}}, Routers: []string{"web"}}
	tests := []struct {
		name      string
		rt        *Runtime
		mismatch  string
		fatalText string
	}{
		{"applied", runtimeWith(map[string][]string{"web@file": {"http://web-2:8080"}}, map[string]RouterStatus{"web@file": {Status: "enabled"}}), "", ""},
		{"old server still there", runtimeWith(map[string][]string{"web@file": {"http://web-1:8080"}}, map[string]RouterStatus{"web@file": {Status: "enabled"}}), "has servers [http://web-1:8080]", ""},
		{"both servers", runtimeWith(map[string][]string{"web@file": {"http://web-1:8080", "http://web-2:8080"}}, map[string]RouterStatus{"web@file": {}}), "has servers", ""},
		{"no service yet", runtimeWith(nil, nil), "service web@file does not exist yet", ""},
		{"router missing", runtimeWith(map[string][]string{"web@file": {"http://web-2:8080"}}, nil), "router web@file does not exist yet", ""},
		{"router disabled", runtimeWith(map[string][]string{"web@file": {"http://web-2:8080"}}, map[string]RouterStatus{"web@file": {Status: "disabled", Errors: []string{"middleware \"auth@file\" does not exist"}}}), "", "Traefik disabled router web@file: middleware"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mismatch, _, fatal := exp.check(tt.rt)
			if tt.fatalText != "" {
				assert.ErrorContains(t, fatal, tt.fatalText)
				return
			}
			require.NoError(t, fatal)
			if tt.mismatch == "" {
				assert.Empty(t, mismatch)
			} else {
				assert.Contains(t, mismatch, tt.mismatch)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	rt := runtimeWith(map[string][]string{"web@docker": nil, "web@file": nil, "other@docker": nil}, map[string]RouterStatus{"web@docker": {}, "api@internal": {}})
	assert.Equal(t, []string{"router web@docker", "service web@docker"}, rt.Conflicts([]string{"web"}, []string{"web"}))
	assert.Empty(t, rt.Conflicts([]string{"shop"}, []string{"shop"}))
}

// TestWaitAppliedPollsUntilApplied serves the old route a few times, then
// the new one, as Traefik does while it reloads.
func TestWaitAppliedPollsUntilApplied(t *testing.T) {
	var calls, wrongPath atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An assertion cannot fail the test from the server's goroutine;
		// count what went wrong and check it after.
		if r.URL.Path != "/api/rawdata" {
			wrongPath.Add(1)
			http.NotFound(w, r)
			return
		}
		url := "http://web-1:8080"
		if calls.Add(1) > 3 {
			url = "http://web-2:8080"
		}
		_ = json.NewEncoder(w).Encode(runtimeWith(map[string][]string{"web@file": {url}}, map[string]RouterStatus{"web@file": {Status: "enabled"}}))
	}))
	defer srv.Close()
	api, err := NewAPI(srv.URL)
	require.NoError(t, err)
	took, err := api.WaitApplied(context.Background(), Expectation{Servers: map[string][]string{"web": {"http://web-2:8080"}}, Routers: []string{"web"}}, 5*time.Second)
	require.NoError(t, err)
	assert.Zero(t, wrongPath.Load(), "dswap read something other than /api/rawdata")
	assert.GreaterOrEqual(t, calls.Load(), int32(4))
	assert.Less(t, took, 2*time.Second)
}

func TestWaitAppliedTimesOutWithWhatItSaw(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(runtimeWith(map[string][]string{"web@file": {"http://web-1:8080"}}, nil))
	}))
	defer srv.Close()
	api, err := NewAPI(srv.URL)
	require.NoError(t, err)
	_, err = api.WaitApplied(context.Background(), Expectation{Servers: map[string][]string{"web": {"http://web-2:8080"}}}, 200*time.Millisecond)
	assert.ErrorContains(t, err, "did not apply the route within 200ms: service web@file has servers [http://web-1:8080]")
}

func TestNewAPIRejectsNonURLs(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x"} {
		_, err := NewAPI(bad)
		assert.Error(t, err, bad)
	}
}

func TestWaitAppliedInterruptedSaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(runtimeWith(map[string][]string{"web@file": {"http://web-1:8080"}}, nil))
	}))
	defer srv.Close()
	api, err := NewAPI(srv.URL)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = api.WaitApplied(ctx, Expectation{Servers: map[string][]string{"web": {"http://web-2:8080"}}}, time.Minute)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped waiting for Traefik to apply the route after")
	assert.NotContains(t, err.Error(), "within 1m0s", "the minute did not run out")
	assert.Contains(t, err.Error(), "service web@file has servers [http://web-1:8080]", "what it saw")
}
