package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

const testToken = "s3cret-token"

// fakeBackend records what the API asked for; swap decides the result.
type fakeBackend struct {
	mu    sync.Mutex
	calls []string // "swap web myapp:v2 pull=always", "rollback web"
	reqs  []swap.Request
	// swap runs a swap; nil logs two records and succeeds.
	swap func(ctx context.Context, req swap.Request, log *slog.Logger) (*swap.Result, error)
	// overs are the settings promotes and aborts were given; ended runs
	// them (nil succeeds).
	overs []swap.Overrides
	ended func(ctx context.Context, kind, service string, over swap.Overrides, log *slog.Logger) (*swap.Result, error)
	// swarm are the Swarm services it routes; swarmErr fails their look.
	swarm    []*swarmswap.Status
	swarmErr error
}

func (f *fakeBackend) Swap(ctx context.Context, req swap.Request, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	f.mu.Lock()
	call := "swap " + req.Service + " " + req.Image + " pull=" + string(opts.Pull)
	if opts.LockWait != nil {
		call += " lock-wait=" + opts.LockWait.String()
	}
	f.calls = append(f.calls, call)
	f.reqs = append(f.reqs, req)
	fn := f.swap
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, req, log)
	}
	log.Info("planning", "phase", "plan", "image", req.Image)
	log.Info("healthy", "phase", "health", "container", req.Service+"-2", "after", 1032*time.Millisecond)
	return &swap.Result{Service: req.Service, FromImage: "myapp:v1", ToImage: req.Image, Old: []string{req.Service}, New: []string{req.Service + "-2"}, HealthyAfter: time.Second, Total: 2 * time.Second}, nil
}

func (f *fakeBackend) Rollback(ctx context.Context, service string, over swap.Overrides, log *slog.Logger) (*swap.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "rollback "+service)
	f.mu.Unlock()
	return &swap.Result{Service: service, ToImage: "myapp:v1"}, nil
}

func (f *fakeBackend) Promote(ctx context.Context, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	return f.canaryEnd(ctx, "promote", service, over, opts, log)
}

func (f *fakeBackend) Abort(ctx context.Context, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	return f.canaryEnd(ctx, "abort", service, over, opts, log)
}

// canaryEnd records a promote or abort and ends it as canaryEnd says
// (nil: a promote to myapp:v2, an abort back to myapp:v1).
func (f *fakeBackend) canaryEnd(ctx context.Context, kind, service string, over swap.Overrides, opts SwapOptions, log *slog.Logger) (*swap.Result, error) {
	f.mu.Lock()
	call := kind + " " + service
	if opts.LockWait != nil {
		call += " lock-wait=" + opts.LockWait.String()
	}
	f.calls = append(f.calls, call)
	f.overs = append(f.overs, over)
	fn := f.ended
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, kind, service, over, log)
	}
	log.Info("weights applied", "phase", "canary", "canary", "50%")
	if kind == "abort" {
		return &swap.Result{Service: service, FromImage: "myapp:v2", ToImage: "myapp:v1", Old: []string{service + "-2"}, New: []string{service}}, nil
	}
	return &swap.Result{Service: service, FromImage: "myapp:v1", ToImage: "myapp:v2", Old: []string{service}, New: []string{service + "-2"}}, nil
}

func (f *fakeBackend) Status(ctx context.Context, service string) ([]swap.Status, error) {
	c := &engine.Container{ID: "id-web", Name: "web", Image: "myapp:v1", ImageID: "sha256:0123456789abcdef", State: engine.State{Status: "running", Running: true, Health: "healthy"}}
	st := swap.Status{Service: "web", RouteFile: "/routes/dswap-web.yml", Routed: []string{"web"}, Containers: []*engine.Container{c}, Damage: swap.Damage{Routed: []*engine.Container{c}}}
	if service != "" && service != "web" {
		return []swap.Status{{Service: service}}, nil
	}
	return []swap.Status{st}, nil
}

func (f *fakeBackend) SwarmStatus(ctx context.Context, service string) ([]*swarmswap.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.swarmErr != nil {
		return nil, f.swarmErr
	}
	if service == "" {
		return f.swarm, nil
	}
	for _, st := range f.swarm {
		if st.Service == service {
			return []*swarmswap.Status{st}, nil
		}
	}
	return nil, nil
}

func (f *fakeBackend) History(ctx context.Context, service string) ([]history.Entry, error) {
	return []history.Entry{{ID: "1", Service: service, Result: "swapped", ToImage: "myapp:v2"}}, nil
}

func (f *fakeBackend) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// testServer runs a Server with a fake backend behind httptest.
func testServer(t *testing.T, opts Options) (*Server, *httptest.Server, *fakeBackend) {
	t.Helper()
	fb, _ := opts.Backend.(*fakeBackend)
	if fb == nil {
		fb = &fakeBackend{}
		opts.Backend = fb
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, opts)
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		wctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = s.Wait(wctx)
	})
	return s, hs, fb
}

// call sends a request with the test token (or the given header value)
// and returns the status and body.
func call(t *testing.T, method, url string, body any, header map[string]string) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}
