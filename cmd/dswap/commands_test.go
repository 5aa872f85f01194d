package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/report"
	"github.com/dswap-dev/dswap/swap"
)

// fakeSwapper records what a command asked of the swap and answers as told.
type fakeSwapper struct {
	swapper // a method the test does not expect panics

	up       *swap.Request
	service  string
	over     swap.Overrides
	result   *swap.Result
	synced   []swap.Synced
	err      error
	rollback bool
}

func (f *fakeSwapper) Up(_ context.Context, req swap.Request) (*swap.Result, error) {
	f.up = &req
	return f.result, f.err
}

func (f *fakeSwapper) Sync(_ context.Context, service string, over swap.Overrides) ([]swap.Synced, error) {
	f.service, f.over = service, over
	return f.synced, f.err
}

func (f *fakeSwapper) Rollback(_ context.Context, service string, over swap.Overrides) (*swap.Result, error) {
	f.service, f.over, f.rollback = service, over, true
	return f.result, f.err
}

// testCLI is a cli whose connect hands out sw, with no Docker or Traefik;
// closed reports whether the command closed its environment.
func testCLI(t *testing.T, sw swapper, env map[string]string) (c *cli, stdout, stderr *bytes.Buffer, closed *bool) {
	t.Helper()
	stdout, stderr, closed = &bytes.Buffer{}, &bytes.Buffer{}, new(bool)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c = &cli{
		stdout: stdout, stderr: stderr,
		getenv:    func(k string) string { return env[k] },
		lookupEnv: lookup,
		now:       func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		connect: func(context.Context, connectOptions, *slog.Logger) (*environment, error) {
			return &environment{swaps: sw, close: func() { *closed = true }}, nil
		},
		startReport: func(context.Context, string, *environment, *slog.Logger) *report.Report { return nil },
	}
	return c, stdout, stderr, closed
}

func swapped() *swap.Result {
	return &swap.Result{Service: "web", FromImage: "myapp:v1", ToImage: "myapp:v2", Old: []string{"web-1"}, New: []string{"web-2"},
		HealthyAfter: time.Second, RoutedAfterHealthy: 200 * time.Millisecond, Total: 2 * time.Second}
}

func TestUpRunsTheSwapAskedFor(t *testing.T) {
	t.Chdir(t.TempDir()) // no compose file
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	sw := &fakeSwapper{result: swapped()}
	c, stdout, _, closed := testCLI(t, sw, nil)
	code := runCLI(context.Background(), c, []string{"up", "myapp:v2", "--service", "web", "--drain", "7s"})
	assert.Equal(t, exitOK, code)
	require.NotNil(t, sw.up)
	assert.Equal(t, "myapp:v2", sw.up.Image)
	assert.Equal(t, "web", sw.up.Service)
	require.NotNil(t, sw.up.Overrides.Drain)
	assert.Equal(t, 7*time.Second, *sw.up.Overrides.Drain)
	assert.Nil(t, sw.up.Healthcheck, "an image swap keeps the running container's healthcheck")
	assert.Equal(t, "dswap: web now runs myapp:v2 (web-2), was myapp:v1 (web-1); healthy after 1.00s, traffic moved 0.20s later, total 2.00s\n", stdout.String())
	assert.True(t, *closed, "the environment is closed")
}

func TestUpExitCodesAndJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	tests := []struct {
		name     string
		err      error
		wantCode int
		result   string
	}{
		{name: "swapped", wantCode: exitOK, result: "swapped"},
		{name: "failed and rolled back", err: &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy"), Kept: "myapp:v1 (web-1)"}, wantCode: exitSwapFailed, result: "failed"},
		{name: "bad input", err: fmt.Errorf("label: %w", swap.ErrBadInput), wantCode: exitBadInput, result: "error"},
		{name: "internal", err: errors.New("engine went away"), wantCode: exitInternal, result: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw := &fakeSwapper{result: swapped(), err: tt.err}
			c, stdout, _, _ := testCLI(t, sw, nil)
			code := runCLI(context.Background(), c, []string{"up", "myapp:v2", "--output", "json"})
			assert.Equal(t, tt.wantCode, code)
			var out map[string]any
			require.NoError(t, json.Unmarshal([]byte(lastLine(stdout.String())), &out), stdout.String())
			assert.Equal(t, tt.result, out["result"])
			assert.EqualValues(t, tt.wantCode, out["exit_code"])
		})
	}
}

func TestUpBadInputNeverConnects(t *testing.T) {
	c, stdout, stderr, _ := testCLI(t, nil, nil)
	c.connect = func(context.Context, connectOptions, *slog.Logger) (*environment, error) {
		t.Fatal("connected despite bad input")
		return nil, nil
	}
	code := runCLI(context.Background(), c, []string{"up", "a", "b", "--output", "json"})
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stdout.String(), `"exit_code":2`, "the final JSON object comes even before a swap")
	assert.Contains(t, stderr.String(), "needs exactly one IMAGE")
}

func TestUpUnderGitHubActionsReportsThroughTheCLI(t *testing.T) {
	t.Chdir(t.TempDir())
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	sw := &fakeSwapper{result: swapped(), err: &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy"), Kept: "myapp:v1 (web-1)"}}
	c, _, stderr, _ := testCLI(t, sw, map[string]string{"GITHUB_ACTIONS": "true"})
	code := runCLI(context.Background(), c, []string{"up", "myapp:v2"})
	assert.Equal(t, exitSwapFailed, code)
	assert.Contains(t, stderr.String(), "::error title=dswap%3A swap of web failed::")
}

func TestSync(t *testing.T) {
	sw := &fakeSwapper{synced: []swap.Synced{{Service: "web", Containers: []string{"web-1", "web-2"}, File: "/routes/web.yml", Took: 300 * time.Millisecond}}}
	c, stdout, _, closed := testCLI(t, sw, nil)
	code := runCLI(context.Background(), c, []string{"sync", "web", "--flip-timeout", "9s"})
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "web", sw.service)
	require.NotNil(t, sw.over.FlipTimeout)
	assert.Equal(t, 9*time.Second, *sw.over.FlipTimeout)
	assert.Equal(t, "dswap: web routed to web-1, web-2 (/routes/web.yml), confirmed in 0.30s\n", stdout.String())
	assert.True(t, *closed)

	sw = &fakeSwapper{err: errors.New("traefik did not confirm")}
	c, stdout, _, _ = testCLI(t, sw, nil)
	code = runCLI(context.Background(), c, []string{"sync", "--output", "json"})
	assert.Equal(t, exitInternal, code)
	assert.Empty(t, sw.service, "every service")
	assert.JSONEq(t, `{"result":"error","exit_code":4,"services":[],"error":"traefik did not confirm"}`, stdout.String())

	c, _, stderr, _ := testCLI(t, nil, nil)
	assert.Equal(t, exitBadInput, runCLI(context.Background(), c, []string{"sync", "a", "b"}))
	assert.Contains(t, stderr.String(), "at most one SERVICE")
}

func TestRollback(t *testing.T) {
	res := swapped()
	res.FromImage, res.ToImage = "myapp:v2", "myapp:v1"
	sw := &fakeSwapper{result: res}
	c, stdout, _, closed := testCLI(t, sw, nil)
	t.Setenv("DSWAP_DRAIN", "3s") // settings are read from the process environment
	code := runCLI(context.Background(), c, []string{"rollback", "web"})
	assert.Equal(t, exitOK, code)
	assert.True(t, sw.rollback)
	assert.Equal(t, "web", sw.service)
	require.NotNil(t, sw.over.Drain)
	assert.Equal(t, 3*time.Second, *sw.over.Drain, "a DSWAP_* variable")
	assert.Contains(t, stdout.String(), "dswap: web now runs myapp:v1")
	assert.True(t, *closed)

	sw = &fakeSwapper{err: &swap.FailedError{Service: "web", Phase: swap.PhaseFlip, Reason: errors.New("traefik did not confirm"), Kept: "myapp:v2 (web-2)"}}
	c, _, stderr, _ := testCLI(t, sw, nil)
	unsetenv(t, "DSWAP_DRAIN")
	assert.Equal(t, exitSwapFailed, runCLI(context.Background(), c, []string{"rollback", "web"}))
	assert.Contains(t, stderr.String(), "traefik did not confirm")

	c, _, stderr, _ = testCLI(t, nil, nil)
	assert.Equal(t, exitBadInput, runCLI(context.Background(), c, []string{"rollback"}))
	assert.Contains(t, stderr.String(), "exactly one SERVICE")
}

func TestConnectErrorsKeepTheirExitCode(t *testing.T) {
	c, _, stderr, _ := testCLI(t, nil, nil)
	c.connect = func(context.Context, connectOptions, *slog.Logger) (*environment, error) {
		return nil, badInput(errors.New("no Traefik found"))
	}
	for _, args := range [][]string{{"sync"}, {"rollback", "web"}, {"status"}, {"history", "web"}} {
		assert.Equal(t, exitBadInput, runCLI(context.Background(), c, args), args)
	}
	assert.Contains(t, stderr.String(), "dswap: no Traefik found")
}
