package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a serve call under test.
type running struct {
	url     string
	signals chan os.Signal
	code    chan int
	logs    *syncBuffer
	// delayed receives one value each time a request starts a non-zero
	// delay, so tests know a slow request is in flight without sleeping.
	delayed chan time.Duration
}

// startServe runs serve on a loopback port with signals delivered through a
// channel the test controls.
func startServe(t *testing.T, cfg config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	r := &running{
		url:     "http://" + ln.Addr().String(),
		signals: make(chan os.Signal, 4),
		code:    make(chan int, 1),
		logs:    &syncBuffer{},
		delayed: make(chan time.Duration, 16),
	}
	svc := newService(cfg, "test-host", time.Now())
	svc.sleep = func(ctx context.Context, d time.Duration) error {
		if d > 0 {
			r.delayed <- d
		}
		return sleepContext(ctx, d)
	}
	go func() { r.code <- serve(cfg, svc, ln, r.signals, newLogger(r.logs)) }()
	return r
}

// exitCode waits (bounded) for serve to return.
func (r *running) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case c := <-r.code:
		return c
	case <-time.After(within):
		t.Fatalf("serve did not return within %s; logs:\n%s", within, r.logs.String())
		return -1
	}
}

// waitDelayed waits (bounded) until a request is inside its delay.
func waitDelayed(t *testing.T, r *running) {
	t.Helper()
	select {
	case <-r.delayed:
	case <-time.After(5 * time.Second):
		t.Fatalf("no request reached its delay; logs:\n%s", r.logs.String())
	}
}

// get does one request with a fresh connection so that refused connections
// show up as errors instead of being hidden by a pooled keep-alive one.
func get(url string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestServeCloseDrainsInFlightAndRefusesNew(t *testing.T) {
	r := startServe(t, config{Version: "v1"})
	require.Eventually(t, func() bool { c, _, err := get(r.url + "/healthz"); return err == nil && c == 200 }, 2*time.Second, 10*time.Millisecond)

	type answer struct {
		code int
		body string
		err  error
	}
	inFlight := make(chan answer, 1)
	go func() {
		c, b, err := get(r.url + "/?delay=400ms")
		inFlight <- answer{c, b, err}
	}()
	waitDelayed(t, r)
	r.signals <- syscall.SIGTERM

	require.Eventually(t, func() bool { _, _, err := get(r.url + "/"); return err != nil }, 2*time.Second, 10*time.Millisecond,
		"new connections must be refused once SIGTERM arrived")
	a := <-inFlight
	require.NoError(t, a.err)
	assert.Equal(t, 200, a.code)
	assert.Equal(t, "v1", a.body)
	assert.Equal(t, exitOK, r.exitCode(t, 5*time.Second))
	assert.Contains(t, r.logs.String(), "received signal terminated")
	assert.Contains(t, r.logs.String(), "shutdown complete")
}

func TestServeLingerKeepsServing(t *testing.T) {
	r := startServe(t, config{Version: "v1", OnSigterm: sigtermPolicy{Mode: sigtermLinger, Linger: 300 * time.Millisecond}})
	require.Eventually(t, func() bool { c, _, err := get(r.url + "/healthz"); return err == nil && c == 200 }, 2*time.Second, 10*time.Millisecond)

	r.signals <- syscall.SIGTERM
	r.signals <- syscall.SIGTERM
	began := time.Now()
	code, body, err := get(r.url + "/")
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.Equal(t, "v1", body)

	assert.Equal(t, exitOK, r.exitCode(t, 5*time.Second))
	assert.GreaterOrEqual(t, time.Since(began), 250*time.Millisecond, "serve must linger before shutting down")
	assert.Contains(t, r.logs.String(), "lingering")
	assert.Contains(t, r.logs.String(), "already lingering")
}

func TestServeIgnoreKeepsServingUntilSIGINT(t *testing.T) {
	r := startServe(t, config{Version: "v1", OnSigterm: sigtermPolicy{Mode: sigtermIgnore}})
	r.signals <- syscall.SIGTERM
	require.Eventually(t, func() bool { return strings.Contains(r.logs.String(), "ignoring SIGTERM") }, 2*time.Second, 10*time.Millisecond)
	code, body, err := get(r.url + "/")
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.Equal(t, "v1", body)
	select {
	case c := <-r.code:
		t.Fatalf("serve returned %d after an ignored SIGTERM", c)
	default:
	}

	r.signals <- syscall.SIGINT
	assert.Equal(t, exitOK, r.exitCode(t, 5*time.Second))
}

func TestServeCrashAfterReady(t *testing.T) {
	began := time.Now()
	r := startServe(t, config{Version: "v1", ReadyAfter: 100 * time.Millisecond, CrashAfter: 100 * time.Millisecond})
	assert.Equal(t, exitCrash, r.exitCode(t, 5*time.Second))
	assert.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond, "the crash clock starts when readiness is reached")
	logs := r.logs.String()
	assert.Contains(t, logs, "ready: /healthz now answers 200")
	assert.Contains(t, logs, "crashing on purpose")
}

func TestServeShutdownTimeout(t *testing.T) {
	r := startServe(t, config{Version: "v1", ShutdownTimeout: 100 * time.Millisecond})
	go func() { _, _, _ = get(r.url + "/?delay=5s") }()
	waitDelayed(t, r)
	r.signals <- syscall.SIGTERM
	assert.Equal(t, exitServeFailed, r.exitCode(t, 5*time.Second))
	assert.Contains(t, r.logs.String(), "shutdown did not finish")
}

func TestRunServeExitAtStart(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runServe(envOf(map[string]string{"EXIT_AT_START": "1", "DELAY": "bogus"}), &stdout, &stderr)
	assert.Equal(t, exitAtStart, code)
	assert.Equal(t, "testapp: exiting at start because EXIT_AT_START=1\n", stderr.String())
}

func TestRunServeRejectsBadConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runServe(envOf(map[string]string{"DELAY": "bogus"}), &stdout, &stderr)
	assert.Equal(t, exitBadConfig, code)
	assert.Contains(t, stderr.String(), "invalid configuration")
}
