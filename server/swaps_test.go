package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

func TestPostSwapAcceptsAndRunsInTheBackground(t *testing.T) {
	s, hs, fb := testServer(t, Options{})
	status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/swap", `{"image":"myapp:v2","drain":"5s","pull":"always"}`, nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	var a accepted
	require.NoError(t, json.Unmarshal(body, &a))
	assert.Equal(t, "web", a.Service)
	assert.Equal(t, "/v1/swaps/"+a.ID+"/events", a.Events)

	out, err := s.Outcome(context.Background(), a.ID)
	require.NoError(t, err)
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, a.ID, out.ID)
	assert.Equal(t, []string{"swap web myapp:v2 pull=always"}, fb.recorded())
	require.NotNil(t, fb.reqs[0].Overrides.Drain)
	assert.Equal(t, "5s", fb.reqs[0].Overrides.Drain.String())
}

func TestPostSwapWaitAnswersWithTheOutcomeAndAStatusPerExitCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		result string
		exit   int
	}{
		{"swapped", nil, http.StatusOK, "swapped", 0},
		{"failed and rolled back", &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy"), Kept: "myapp:v1 (web) keeps serving"}, http.StatusUnprocessableEntity, "failed", 1},
		{"bad input", fmt.Errorf("no such image: %w", swap.ErrBadInput), http.StatusBadRequest, "error", 2},
		{"lock held", &lock.HeldError{Name: "web"}, http.StatusConflict, "error", 3},
		{"internal", errors.New("the Engine went away"), http.StatusInternalServerError, "error", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := &fakeBackend{swap: func(_ context.Context, req swap.Request, _ *slog.Logger) (*swap.Result, error) {
				if tc.err != nil {
					return nil, tc.err
				}
				return &swap.Result{Service: req.Service, ToImage: req.Image}, nil
			}}
			_, hs, _ := testServer(t, Options{Backend: fb})
			status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/swap?wait=true", `{"image":"myapp:v2"}`, nil)
			assert.Equal(t, tc.status, status, string(body))
			var out Outcome
			require.NoError(t, json.Unmarshal(body, &out))
			assert.Equal(t, tc.result, out.Result)
			assert.Equal(t, tc.exit, out.ExitCode)
			if tc.err != nil {
				assert.NotEmpty(t, out.Error, "an error answer says why in \"error\"")
			}
		})
	}
}

func TestPostSwapRefusesBadRequestsBeforeAnythingRuns(t *testing.T) {
	_, hs, fb := testServer(t, Options{})
	for _, tc := range []struct {
		name, path, body string
	}{
		{"no image", "/v1/services/web/swap", `{}`},
		{"not JSON", "/v1/services/web/swap", `image=myapp:v2`},
		{"unknown field", "/v1/services/web/swap", `{"image":"myapp:v2","drian":"5s"}`},
		{"bad duration", "/v1/services/web/swap", `{"image":"myapp:v2","drain":"soon"}`},
		{"bad pull", "/v1/services/web/swap", `{"image":"myapp:v2","pull":"sometimes"}`},
		{"two services", "/v1/services/web/swap", `{"image":"myapp:v2","service":"api"}`},
		{"bad wait", "/v1/services/web/swap?wait=maybe", `{"image":"myapp:v2"}`},
		{"two objects", "/v1/swaps", `{"image":"a"}{"image":"b"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, http.MethodPost, hs.URL+tc.path, tc.body, nil)
			assert.Equal(t, http.StatusBadRequest, status)
			var e apiError
			require.NoError(t, json.Unmarshal(body, &e))
			assert.NotEmpty(t, e.Error)
		})
	}
	assert.Empty(t, fb.recorded())
}

func TestUnauthenticatedCallsChangeNothing(t *testing.T) {
	_, hs, fb := testServer(t, Options{})
	for _, tc := range []struct{ method, path, auth string }{
		{http.MethodPost, "/v1/services/web/swap", ""},
		{http.MethodPost, "/v1/services/web/swap?wait=true", "Bearer wrong"},
		{http.MethodPost, "/v1/services/web/rollback", "Bearer wrong"},
		{http.MethodPost, "/v1/swaps", "Basic " + testToken},
		{http.MethodGet, "/v1/services", ""},
		{http.MethodGet, "/v1/services/web/history", "Bearer "},
	} {
		status, _ := call(t, tc.method, hs.URL+tc.path, `{"image":"myapp:v2"}`, map[string]string{"Authorization": tc.auth})
		assert.Equal(t, http.StatusUnauthorized, status, "%s %s", tc.method, tc.path)
	}
	assert.Empty(t, fb.recorded())
}

func TestStatusHistoryAndRollback(t *testing.T) {
	s, hs, fb := testServer(t, Options{})
	status, body := call(t, http.MethodGet, hs.URL+"/v1/services", nil, nil)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[{"service":"web","route_file":"/routes/dswap-web.yml","routed":["web"],"containers":[{"name":"web","image":"myapp:v1","image_id":"0123456789ab","state":"running","health":"healthy","routed":true}]}]`, string(body))

	status, _ = call(t, http.MethodGet, hs.URL+"/v1/services/web", nil, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = call(t, http.MethodGet, hs.URL+"/v1/services/nothing", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, body = call(t, http.MethodGet, hs.URL+"/v1/services/proj%2Fweb/history", nil, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), `"service":"proj/web"`, "a compose service is project/name, with its slash escaped")

	status, body = call(t, http.MethodPost, hs.URL+"/v1/services/web/rollback?wait=true", nil, nil)
	assert.Equal(t, http.StatusOK, status, string(body))
	assert.Equal(t, []string{"rollback web"}, fb.recorded())

	status, body = call(t, http.MethodGet, hs.URL+"/v1/swaps", nil, nil)
	assert.Equal(t, http.StatusOK, status)
	var runs []runView
	require.NoError(t, json.Unmarshal(body, &runs))
	require.Len(t, runs, 1)
	assert.Equal(t, "rollback", runs[0].Kind)
	assert.Equal(t, "done", runs[0].State)
	_ = s
}
