package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&swap.FailedError{Reason: errors.New("x")}, 1},
		{fmt.Errorf("wrapped: %w", &swap.FailedError{Reason: errors.New("x")}), 1},
		{context.Canceled, 1},
		{fmt.Errorf("bad: %w", swap.ErrBadInput), 2},
		{&lock.HeldError{}, 3},
		{errors.New("boom"), 4},
	} {
		assert.Equal(t, tc.want, ExitCode(tc.err), "%v", tc.err)
	}
}

func TestNewOutcome(t *testing.T) {
	res := &swap.Result{Service: "web", FromImage: "myapp:v1", ToImage: "myapp:v2", Old: []string{"web"}, New: []string{"web-2"},
		HealthyAfter: 1500 * time.Millisecond, RoutedAfterHealthy: 130 * time.Millisecond, Total: 12 * time.Second, Readiness: "dswap's probe"}
	out := NewOutcome(res, nil)
	assert.Equal(t, Outcome{Result: "swapped", Service: "web", From: "myapp:v1", To: "myapp:v2", Old: []string{"web"}, New: []string{"web-2"},
		HealthySeconds: 1.5, RoutedAfterHealthy: 0.13, TotalSeconds: 12, Readiness: "dswap's probe"}, out)
	back := out.SwapResult()
	assert.Equal(t, res.HealthyAfter, back.HealthyAfter)
	assert.Equal(t, res.Total, back.Total)

	res.Tasks = []swap.TaskResult{
		{Stage: "pre", Command: "php artisan migrate --force", ExitCode: 0, Took: 2500 * time.Millisecond, Output: []string{"Migrated: 2024_01_01_create_users"}},
		{Stage: "post", Command: `["/app","warm"]`, ExitCode: 4, Took: time.Second, Failure: "exited with code 4", Output: []string{"cache down"}},
	}
	out = NewOutcome(res, nil)
	assert.Equal(t, []TaskOutcome{
		{Stage: "pre", Command: "php artisan migrate --force", ExitCode: 0, Seconds: 2.5, Output: []string{"Migrated: 2024_01_01_create_users"}},
		{Stage: "post", Command: `["/app","warm"]`, ExitCode: 4, Seconds: 1, Failure: "exited with code 4", Output: []string{"cache down"}},
	}, out.Tasks)
	b, err := json.Marshal(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"tasks":[{"stage":"pre","command":"php artisan migrate --force","exit_code":0,"seconds":2.5,"output":["Migrated: 2024_01_01_create_users"]}`)
	assert.Equal(t, res.Tasks, out.SwapResult().Tasks, "a sidecar's swap reads back as a local one")

	failed := &swap.FailedError{Service: "web", Phase: swap.PhaseHealth, Reason: errors.New("unhealthy"), Kept: "myapp:v1 (web) keeps serving, unchanged",
		Container: "web-2", State: "running, health unhealthy", HealthLog: []engine.HealthResult{{ExitCode: 1, Output: "no"}}}
	out = NewOutcome(nil, failed)
	assert.Equal(t, "failed", out.Result)
	assert.Equal(t, 1, out.ExitCode)
	assert.Equal(t, "health", out.Phase)
	assert.Equal(t, "swap of web failed during health: unhealthy", out.Error)
	assert.Contains(t, out.Details, "new container web-2: running, health unhealthy")
}
