package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

// sidecarBackend ends every swap with err, after logging as a swap does.
type sidecarBackend struct {
	err  error
	reqs []swap.Request
	opts []server.SwapOptions
}

func (b *sidecarBackend) Swap(_ context.Context, req swap.Request, opts server.SwapOptions, log *slog.Logger) (*swap.Result, error) {
	b.reqs, b.opts = append(b.reqs, req), append(b.opts, opts)
	log.Info("planning", "phase", "plan", "image", req.Image)
	log.Info("healthy", "phase", "health", "container", "web-2", "after", 1032*time.Millisecond)
	if b.err != nil {
		return nil, b.err
	}
	return &swap.Result{Service: "web", FromImage: "myapp:v1", ToImage: req.Image, Old: []string{"web"}, New: []string{"web-2"},
		HealthyAfter: 1500 * time.Millisecond, RoutedAfterHealthy: 130 * time.Millisecond, Total: 4 * time.Second}, nil
}

func (b *sidecarBackend) Rollback(context.Context, string, swap.Overrides, *slog.Logger) (*swap.Result, error) {
	return nil, errors.New("not used")
}
func (b *sidecarBackend) Promote(_ context.Context, service string, over swap.Overrides, opts server.SwapOptions, log *slog.Logger) (*swap.Result, error) {
	return b.canaryEnd("promote", service, over, opts, log)
}

func (b *sidecarBackend) Abort(_ context.Context, service string, over swap.Overrides, opts server.SwapOptions, log *slog.Logger) (*swap.Result, error) {
	return b.canaryEnd("abort", service, over, opts, log)
}

// canaryEnd records a promote or abort as a swap request (its Image the
// kind) and ends it with err.
func (b *sidecarBackend) canaryEnd(kind, service string, over swap.Overrides, opts server.SwapOptions, log *slog.Logger) (*swap.Result, error) {
	b.reqs, b.opts = append(b.reqs, swap.Request{Image: kind, Service: service, Overrides: over}), append(b.opts, opts)
	log.Info("weights applied", "phase", "canary", "canary", "50%")
	if b.err != nil {
		return nil, b.err
	}
	return &swap.Result{Service: service, FromImage: "myapp:v1", ToImage: "myapp:v2", Old: []string{"web"}, New: []string{"web-2"}, Total: 3 * time.Second}, nil
}

func (b *sidecarBackend) Status(context.Context, string) ([]swap.Status, error)    { return nil, nil }
func (b *sidecarBackend) History(context.Context, string) ([]history.Entry, error) { return nil, nil }
func (b *sidecarBackend) SwarmStatus(context.Context, string) ([]*swarmswap.Status, error) {
	return nil, nil
}

// sidecar serves the real API over b and points DSWAP_HOST at it.
func sidecar(t *testing.T, b *sidecarBackend) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, server.Options{Backend: b, Token: "tok"})
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); cancel() })
	t.Setenv("DSWAP_HOST", hs.URL)
	t.Setenv("DSWAP_TOKEN", "tok")
	t.Setenv("GITHUB_ACTIONS", "")
}

func runArgs(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRemoteUpPrintsWhatALocalSwapPrints(t *testing.T) {
	b := &sidecarBackend{}
	sidecar(t, b)
	code, stdout, stderr := runArgs("up", "myapp:v2", "--service", "web", "--drain", "5s", "--lock-wait", "0s")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "dswap: web now runs myapp:v2 (web-2), was myapp:v1 (web); healthy after 1.50s, traffic moved 0.13s later, total 4.00s\n", stdout)
	assert.Regexp(t, `(?m)^ +\d+\.\d\ds  plan     the dswap sidecar runs the swap host=http://127\.0\.0\.1:\d+ swap=[0-9a-f]+$`, stderr)
	assert.Regexp(t, `(?m)^ +\d+\.\d\ds  health   healthy container=web-2 after=1\.032s$`, stderr, "the sidecar's records, printed as local progress lines")
	require.Len(t, b.reqs, 1)
	assert.Equal(t, "web", b.reqs[0].Service)
	assert.Equal(t, 5*time.Second, *b.reqs[0].Overrides.Drain)
	assert.Equal(t, engine.PullMissing, b.opts[0].Pull, "no --pull: the sidecar's default")
	require.NotNil(t, b.opts[0].LockWait)
	assert.Zero(t, *b.opts[0].LockWait)

	code, stdout, _ = runArgs("up", "myapp:v2", "--service", "web", "--output", "json")
	require.Equal(t, 0, code)
	var out server.Outcome
	require.NoError(t, json.Unmarshal([]byte(lastLine(stdout)), &out))
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, 0, out.ExitCode)
	assert.NotEmpty(t, out.ID)
}

func TestRemoteUpExitsLikeALocalSwap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		result string
		stderr string
	}{
		{"failed and rolled back", &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("new container web-2 turned unhealthy"), Kept: "myapp:v1 (web) keeps serving, unchanged"},
			1, "failed", "dswap: swap of web failed during health: new container web-2 turned unhealthy\ndswap: myapp:v1 (web) keeps serving, unchanged\n"},
		{"bad input", fmt.Errorf("image myapp:v9: manifest unknown: %w", swap.ErrBadInput), 2, "error", "dswap: image myapp:v9: manifest unknown: bad input\n"},
		{"lock held", &lock.HeldError{Name: "web"}, 3, "error", "dswap: another dswap is working on web"},
		{"internal", errors.New("the Engine went away"), 4, "error", "dswap: the Engine went away\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sidecar(t, &sidecarBackend{err: tc.err})
			code, _, stderr := runArgs("up", "myapp:v2", "--service", "web")
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.stderr)

			code, stdout, _ := runArgs("up", "myapp:v2", "--service", "web", "--output", "json")
			assert.Equal(t, tc.code, code)
			var out server.Outcome
			require.NoError(t, json.Unmarshal([]byte(lastLine(stdout)), &out))
			assert.Equal(t, tc.result, out.Result)
			assert.Equal(t, tc.code, out.ExitCode, "the final object carries the exit code")
		})
	}
}

func TestRemoteUpBeforeAnySwap(t *testing.T) {
	sidecar(t, &sidecarBackend{})

	t.Setenv("DSWAP_TOKEN", "wrong")
	code, stdout, stderr := runArgs("up", "myapp:v2", "--service", "web", "--output", "json")
	assert.Equal(t, 2, code, "a wrong token is the caller's to fix, and changed nothing")
	assert.Contains(t, stderr, "401 Unauthorized")
	var out server.Outcome
	require.NoError(t, json.Unmarshal([]byte(lastLine(stdout)), &out), "--output json ends with its final object even then")
	assert.Equal(t, "error", out.Result)
	assert.Equal(t, 2, out.ExitCode)

	t.Setenv("DSWAP_TOKEN", "tok")
	code, _, stderr = runArgs("up", "myapp:v2", "--service", "web", "--build", ".")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--build cannot be used with DSWAP_HOST")

	t.Setenv("DSWAP_HOST", "unix://"+filepath.Join(t.TempDir(), "nobody.sock"))
	code, _, stderr = runArgs("up", "myapp:v2", "--service", "web")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "cannot reach the dswap sidecar")
	assert.Contains(t, stderr, "nothing was changed")

	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"too many swaps are running in this sidecar"}`, http.StatusServiceUnavailable)
	}))
	defer hs.Close()
	t.Setenv("DSWAP_HOST", hs.URL)
	code, _, _ = runArgs("up", "myapp:v2", "--service", "web")
	assert.Equal(t, 4, code)
}

func TestRemoteUpUnderGitHubActions(t *testing.T) {
	sidecar(t, &sidecarBackend{err: &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy"), Kept: "myapp:v1 keeps serving"}})
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, _, stderr := runArgs("up", "myapp:v2", "--service", "web")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "::group::dswap: plan\n")
	assert.Contains(t, stderr, "::group::dswap: health\n")
	assert.Contains(t, stderr, "::error title=dswap%3A swap of web failed::swap of web failed during health: unhealthy%0Amyapp:v1 keeps serving\n")
	assert.Equal(t, 1, strings.Count(stderr, "::error"))
	got, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(got), "### ❌ dswap: web failed during health")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestExitCodesAgreeWithTheServer(t *testing.T) {
	for _, err := range []error{
		nil, &swap.FailedError{Reason: errors.New("x")}, context.Canceled, fmt.Errorf("x: %w", swap.ErrBadInput),
		&lock.HeldError{}, errors.New("boom"),
	} {
		assert.Equal(t, exitCode(err), server.ExitCode(err), "%v", err)
	}
	assert.Equal(t, exitBadInput, exitCode(usagef("bad flag")))
	assert.Equal(t, exitLockTimeout, exitCode(&server.OutcomeError{Outcome: server.Outcome{ExitCode: 3}}))
	assert.Equal(t, exitInternal, exitCode(fmt.Errorf("helper: %w", &fakeExecError{})), "a helper program's exit code is not dswap's")
}

// fakeExecError has ExitCode like *exec.ExitError.
type fakeExecError struct{}

func (*fakeExecError) Error() string { return "exit status 2" }
func (*fakeExecError) ExitCode() int { return 2 }

func TestLocalJSONEventsWriteDurationsAsTheSidecarStreamsThem(t *testing.T) {
	var local bytes.Buffer
	log, err := newLogger("json", &local, time.Now())
	require.NoError(t, err)
	log.Info("route applied", "phase", "flip", "took", 401*time.Millisecond, "count", 1)
	var got map[string]any
	require.NoError(t, json.Unmarshal(local.Bytes(), &got))
	assert.Equal(t, "401ms", got["took"])
	assert.Equal(t, float64(1), got["count"])

	r := slog.NewRecord(time.Now(), slog.LevelInfo, "route applied", 0)
	r.AddAttrs(slog.Duration("took", 401*time.Millisecond))
	var streamed map[string]any
	require.NoError(t, json.Unmarshal(server.EncodeRecord(r, nil), &streamed))
	assert.Equal(t, got["took"], streamed["took"])
}

func TestSyncJSONResult(t *testing.T) {
	var b bytes.Buffer
	err := reportSyncJSON(&b, []swap.Synced{{Service: "web", Containers: []string{"web"}, File: "/routes/dswap-web.yml", Took: 130 * time.Millisecond}}, nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"result":"synced","exit_code":0,"services":[{"service":"web","containers":["web"],"file":"/routes/dswap-web.yml","took_seconds":0.13}]}`, b.String())

	b.Reset()
	err = reportSyncJSON(&b, nil, fmt.Errorf("no running container: %w", swap.ErrBadInput))
	assert.ErrorIs(t, err, errReported)
	assert.Equal(t, exitBadInput, exitCode(err))
	assert.JSONEq(t, `{"result":"error","exit_code":2,"services":[],"error":"no running container: bad input"}`, b.String())
}

// The sidecar must receive what DSWAP_* variables set, as a local swap
// would run with them: they used to be read, then dropped.
func TestRemoteUpSendsTheSettingsOfVariables(t *testing.T) {
	b := &sidecarBackend{}
	sidecar(t, b)
	t.Setenv("DSWAP_PARALLELISM", "2")
	t.Setenv("DSWAP_ORDER", "stop-first")
	code, _, stderr := runArgs("up", "myapp:v2", "--service", "web")
	require.Equal(t, 0, code, stderr)
	require.Len(t, b.reqs, 1)
	require.NotNil(t, b.reqs[0].Overrides.Parallelism, "DSWAP_PARALLELISM reaches the sidecar")
	assert.Equal(t, 2, *b.reqs[0].Overrides.Parallelism)
	require.NotNil(t, b.reqs[0].Overrides.Order)
	assert.Equal(t, "stop-first", *b.reqs[0].Overrides.Order)
}

func TestRemoteUpRefusesWhatOnlyThisMachineHas(t *testing.T) {
	sidecar(t, &sidecarBackend{})
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{args: []string{"--routes-dir", "/routes"}, want: "--routes-dir cannot be used with DSWAP_HOST"},
		{args: []string{"--registry-auth-file", "/run/secrets/login"}, want: "--registry-auth-file cannot be used with DSWAP_HOST"},
		{env: "DSWAP_REGISTRY_AUTH_FILE", want: "DSWAP_REGISTRY_AUTH_FILE cannot be used with DSWAP_HOST"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, "/run/secrets/login")
			}
			code, _, stderr := runArgs(append([]string{"up", "myapp:v2", "--service", "web"}, tc.args...)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// A compose service named to `dswap up` through DSWAP_HOST is resolved
// from the compose file here, and the sidecar swaps it by its reference
// with the file's settings.
func TestRemoteUpOfAComposeService(t *testing.T) {
	inProject(t)
	b := &sidecarBackend{}
	sidecar(t, b)
	code, _, stderr := runArgs("up", "web")
	require.Equal(t, 0, code, stderr)
	require.Len(t, b.reqs, 1)
	local := localRequest(t, "web")
	assert.Equal(t, swapRequest(local), b.reqs[0])
	assert.Equal(t, "shop/web", b.reqs[0].Service)
	require.NotNil(t, b.reqs[0].Overrides.Parallelism)
	assert.Equal(t, 2, *b.reqs[0].Overrides.Parallelism, "deploy.update_config goes along")
}

func TestRemotePromoteAndAbortRunOnTheSidecar(t *testing.T) {
	b := &sidecarBackend{}
	sidecar(t, b)
	code, stdout, stderr := runArgs("promote", "web", "--canary", "50%", "--max-error-rate", "1%", "--lock-wait", "0s")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "dswap: web now runs myapp:v2 (web-2), was myapp:v1 (web)")
	assert.Regexp(t, `(?m)^ +\d+\.\d\ds  plan     the dswap sidecar runs the promote host=http://127\.0\.0\.1:\d+ swap=[0-9a-f]+$`, stderr)
	assert.Regexp(t, `(?m)^ +\d+\.\d\ds  canary   weights applied canary=50%$`, stderr, "the sidecar's records, printed as local progress lines")
	require.Len(t, b.reqs, 1)
	assert.Equal(t, "promote", b.reqs[0].Image)
	assert.Equal(t, "web", b.reqs[0].Service)
	assert.Equal(t, "50%", *b.reqs[0].Overrides.Canary)
	assert.Equal(t, "1%", *b.reqs[0].Overrides.MaxErrorRate)
	require.NotNil(t, b.opts[0].LockWait)
	assert.Zero(t, *b.opts[0].LockWait)

	code, stdout, _ = runArgs("abort", "web", "--drain", "5s", "--output", "json")
	require.Equal(t, 0, code)
	var out server.Outcome
	require.NoError(t, json.Unmarshal([]byte(lastLine(stdout)), &out))
	assert.Equal(t, "swapped", out.Result)
	assert.NotEmpty(t, out.ID)
	require.Len(t, b.reqs, 2)
	assert.Equal(t, "abort", b.reqs[1].Image)
	assert.Equal(t, 5*time.Second, *b.reqs[1].Overrides.Drain)
}

func TestRemotePromoteExitsWithTheOutcomesCode(t *testing.T) {
	sidecar(t, &sidecarBackend{err: &swap.FailedError{Service: "web", Phase: swap.PhaseCanary, Reason: errors.New("error rate 19.6% (98 of 500) > 1% at 50%"), Kept: "myapp:v1 (web) keeps serving"}})
	code, _, stderr := runArgs("promote", "web")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "error rate 19.6% (98 of 500) > 1% at 50%")

	code, _, stderr = runArgs("abort", "web", "--traefik-api", "http://127.0.0.1:8080")
	assert.Equal(t, 2, code, "the sidecar finds Traefik itself")
	assert.Contains(t, stderr, "--traefik-api cannot be used with DSWAP_HOST")
}
