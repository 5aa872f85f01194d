package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

func TestClientUpStreamsRecordsAndReturnsTheOutcome(t *testing.T) {
	_, hs, fb := testServer(t, Options{})
	c, err := NewClient(hs.URL, testToken)
	require.NoError(t, err)
	var msgs []string
	var started string
	out, err := c.Up(context.Background(), SwapRequest{Image: "myapp:v2", Service: "web"},
		func(id string) { started = id },
		func(r slog.Record) { msgs = append(msgs, r.Message) })
	require.NoError(t, err)
	assert.Equal(t, []string{"planning", "healthy"}, msgs)
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, started, out.ID)
	assert.Equal(t, []string{"swap web myapp:v2 pull=missing"}, fb.recorded())
}

func TestClientExitCodes(t *testing.T) {
	// Before any swap runs: the answer's status.
	for _, tc := range []struct {
		status int
		exit   int
	}{
		{http.StatusBadRequest, ExitBadInput},
		{http.StatusUnauthorized, ExitBadInput},
		{http.StatusNotFound, ExitBadInput},
		{http.StatusConflict, ExitLocked},
		{http.StatusUnprocessableEntity, ExitFailed},
		{http.StatusInternalServerError, ExitInternal},
		{http.StatusServiceUnavailable, ExitInternal},
		{http.StatusBadGateway, ExitInternal},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, tc.status, "because")
		}))
		c, err := NewClient(hs.URL, "t")
		require.NoError(t, err)
		_, err = c.Up(context.Background(), SwapRequest{Image: "x", Service: "web"}, nil, nil)
		hs.Close()
		var coded interface{ SwapExitCode() int }
		require.True(t, errors.As(err, &coded), "%d: %v", tc.status, err)
		assert.Equal(t, tc.exit, coded.SwapExitCode(), "status %d", tc.status)
		assert.Contains(t, err.Error(), "because")
	}

	// No sidecar there: nothing was asked, so nothing changed.
	c, err := NewClient("unix://"+filepath.Join(t.TempDir(), "none.sock"), "t")
	require.NoError(t, err)
	_, err = c.Up(context.Background(), SwapRequest{Image: "x", Service: "web"}, nil, nil)
	var unreachable *UnreachableError
	require.ErrorAs(t, err, &unreachable)
	assert.Equal(t, ExitBadInput, unreachable.SwapExitCode())

	// After a swap ran: the outcome's exit code, as a local swap ends.
	for _, tc := range []struct {
		err  error
		exit int
	}{
		{nil, ExitOK},
		{&swap.FailedError{Service: "web", Reason: errors.New("unhealthy")}, ExitFailed},
		{fmt.Errorf("%w", context.Canceled), ExitFailed},
		{fmt.Errorf("labels: %w", swap.ErrBadInput), ExitBadInput},
		{&lock.HeldError{Name: "web"}, ExitLocked},
		{errors.New("engine gone"), ExitInternal},
	} {
		fb := &fakeBackend{swap: func(context.Context, swap.Request, *slog.Logger) (*swap.Result, error) {
			if tc.err != nil {
				return nil, tc.err
			}
			return &swap.Result{Service: "web"}, nil
		}}
		_, hs, _ := testServer(t, Options{Backend: fb})
		c, err := NewClient(hs.URL, testToken)
		require.NoError(t, err)
		out, err := c.Up(context.Background(), SwapRequest{Image: "x", Service: "web"}, nil, nil)
		require.NoError(t, err)
		assert.Equal(t, tc.exit, out.ExitCode, "%v", tc.err)
		assert.Equal(t, tc.exit, (&OutcomeError{Outcome: out}).SwapExitCode())
	}
}

func TestClientCancelsTheSwapWhenInterrupted(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s, hs, _ := testServer(t, Options{Backend: gatedBackend(release)})
	c, err := NewClient(hs.URL, testToken)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	// Ctrl-C once the swap has logged its first record.
	out, err := c.Up(ctx, SwapRequest{Image: "myapp:v2", Service: "web"}, nil, func(slog.Record) { cancel() })
	require.NoError(t, err)
	assert.Equal(t, "error", out.Result)
	assert.Equal(t, ExitFailed, out.ExitCode, "interrupted before the flip: rolled back, as a local Ctrl-C")
	assert.Zero(t, s.Running())
}

func TestClientOverAUnixSocket(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Options{Backend: &fakeBackend{}, Token: testToken})
	require.NoError(t, err)
	addr, err := ParseAddress("unix://" + filepath.Join(t.TempDir(), "run", "dswap.sock"))
	require.NoError(t, err)
	l, err := Listen(addr)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, s.Handler()) }()

	c, err := NewClient(addr.String(), testToken)
	require.NoError(t, err)
	out, err := c.Up(ctx, SwapRequest{Image: "myapp:v2", Service: "web"}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "swapped", out.Result)
	cancel()
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// A sidecar killed while the client follows its swap, and restarted: the
// stream breaks, and the new sidecar does not know the swap. The error
// says where the swap was left and what to do (found by the torture run's
// kill-sidecar fault).
func TestFollowingASwapWhoseSidecarRestartedSaysWhatToDo(t *testing.T) {
	calls := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			// The first sidecar: one record, then it dies.
			_, _ = w.Write([]byte(`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"planning","phase":"plan"}` + "\n"))
			return
		}
		writeError(w, http.StatusNotFound, "no swap abc")
	}))
	defer hs.Close()
	c, err := NewClient(hs.URL, "t")
	require.NoError(t, err)
	var msgs []string
	_, err = c.Follow(context.Background(), "abc", func(r slog.Record) { msgs = append(msgs, r.Message) })
	require.Error(t, err)
	assert.Equal(t, []string{"planning"}, msgs)
	assert.Contains(t, err.Error(), "the sidecar stopped or restarted in the middle of the swap")
	assert.Contains(t, err.Error(), "`dswap sync SERVICE`")
}
