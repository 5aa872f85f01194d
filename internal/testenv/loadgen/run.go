// Package loadgen drives closed-loop HTTP load at a local endpoint (in the
// lab: Traefik's web entrypoint) and records every request, so that e2e
// tests and the benchmark can show that a swap dropped nothing, hung
// nothing and never served two versions side by side. It only ever sends
// traffic to 127.0.0.1 or localhost, and every run is bounded in time and
// in request count.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxBody is how much of a response body is kept: enough for a version
	// string or the start of an error page.
	maxBody = 4 << 10
	// maxDrain is how much more is read and discarded so the connection can
	// be reused; a larger body costs a new connection instead.
	maxDrain = 1 << 20
	// errSnippet is how much of a non-2xx body goes into Result.Err.
	errSnippet = 200
)

// Run is a load run in progress. Its methods are safe for concurrent use.
type Run struct {
	opts      Options
	target    string
	client    *http.Client
	transport *http.Transport
	deadline  time.Time

	ctx    context.Context // ends when the caller's context does, or after Stop
	cancel context.CancelFunc

	halt     chan struct{} // closed to stop new requests
	haltOnce sync.Once
	done     chan struct{} // closed when every client has returned

	issued    atomic.Int64 // requests started, for MaxRequests
	completed atomic.Int64 // requests finished, for Count
	aborted   atomic.Int64

	mu      sync.Mutex
	results []Result
	seen    map[string]bool
	seenCh  chan struct{} // closed and replaced when a new version is seen

	reportOnce sync.Once
	report     *Report
}

// Start validates opts and starts opts.Clients closed-loop clients: each
// sends a request, waits for the whole answer and sends the next. They stop
// when ctx ends, Stop is called, MaxDuration has passed (no request starts
// after it) or MaxRequests requests have been sent.
func Start(ctx context.Context, opts Options) (*Run, error) {
	opts, target, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		// The target is on this machine; a proxy from the environment
		// must never be used.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        opts.Clients,
		MaxIdleConnsPerHost: opts.Clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	runCtx, cancel := context.WithCancel(ctx)
	r := &Run{
		opts:      opts,
		target:    target,
		transport: transport,
		client: &http.Client{
			Transport: transport,
			// Following a redirect could lead off this machine, and a
			// redirect is not what a swap should produce anyway.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		deadline: time.Now().Add(opts.MaxDuration),
		ctx:      runCtx,
		cancel:   cancel,
		halt:     make(chan struct{}),
		done:     make(chan struct{}),
		seen:     map[string]bool{},
		seenCh:   make(chan struct{}),
	}
	var wg sync.WaitGroup
	for i := range opts.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(i)
		}()
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	return r, nil
}

// stopNew stops new requests; in-flight ones finish.
func (r *Run) stopNew() {
	r.haltOnce.Do(func() { close(r.halt) })
}

// loop is one closed-loop client.
func (r *Run) loop(client int) {
	for {
		select {
		case <-r.halt:
			return
		case <-r.ctx.Done():
			return
		default:
		}
		if !time.Now().Before(r.deadline) || r.issued.Add(1) > int64(r.opts.MaxRequests) {
			r.stopNew()
			return
		}
		res, aborted := r.do(client)
		if aborted {
			r.aborted.Add(1)
			continue
		}
		r.record(res)
	}
}

// do sends one request. aborted is true when the run's context ended
// during it, in which case the result says nothing about the target.
func (r *Run) do(client int) (res Result, aborted bool) {
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.Timeout)
	defer cancel()
	res = Result{Client: client, Start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.target, nil)
	if err != nil {
		res.End = time.Now()
		res.Err = fmt.Sprintf("building request: %v", err)
		return res, false
	}
	if r.opts.Host != "" {
		req.Host = r.opts.Host
	}
	resp, err := r.client.Do(req)
	if err != nil {
		res.End = time.Now()
		res.Err = err.Error()
		return res, r.ctx.Err() != nil
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if readErr == nil {
		_, readErr = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	_ = resp.Body.Close()
	res.End = time.Now()
	res.Status = resp.StatusCode
	switch {
	case readErr != nil:
		res.Err = fmt.Sprintf("reading body: %v", readErr)
		return res, r.ctx.Err() != nil
	case resp.StatusCode == http.StatusOK:
		res.Version = strings.TrimSpace(string(body))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > errSnippet {
			snippet = snippet[:errSnippet] + "..."
		}
		res.Err = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, snippet)
	}
	return res, false
}

// record stores a finished request and wakes WaitVersion callers when it
// brings a version not seen before.
func (r *Run) record(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res)
	r.completed.Add(1)
	if answeredBy(res) && !r.seen[res.Version] {
		r.seen[res.Version] = true
		close(r.seenCh)
		r.seenCh = make(chan struct{})
	}
}

// Count is the number of requests completed so far, for waiting until load
// is flowing.
func (r *Run) Count() int { return int(r.completed.Load()) }

// Done is closed when every client has stopped, whether by a bound, the
// context or Stop.
func (r *Run) Done() <-chan struct{} { return r.done }

// WaitVersion blocks until at least one 200 answer of version has been
// received, ctx ends, or the run ends without one.
func (r *Run) WaitVersion(ctx context.Context, version string) error {
	for {
		r.mu.Lock()
		ok := r.seen[version]
		ch := r.seenCh
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for an answer from version %q: %w (seen: %s)", version, ctx.Err(), r.seenVersions())
		case <-r.done:
			r.mu.Lock()
			ok = r.seen[version]
			r.mu.Unlock()
			if ok {
				return nil
			}
			return fmt.Errorf("waiting for an answer from version %q: %w (seen: %s)", version, errRunEnded, r.seenVersions())
		}
	}
}

// errRunEnded says the run stopped before the awaited event.
var errRunEnded = errors.New("the load run ended")

// seenVersions lists the versions answered so far, for error messages.
func (r *Run) seenVersions() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return "none"
	}
	vs := make([]string, 0, len(r.seen))
	for v := range r.seen {
		vs = append(vs, fmt.Sprintf("%q", v))
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// Stop stops new requests, waits for in-flight ones (each is bounded by
// Options.Timeout) and returns the report. Calling it again returns the same
// report.
func (r *Run) Stop() *Report {
	r.reportOnce.Do(func() {
		r.stopNew()
		<-r.done
		r.cancel()
		r.transport.CloseIdleConnections()
		r.mu.Lock()
		results := r.results
		r.mu.Unlock()
		r.report = NewReport(results, r.opts.Hung, int(r.aborted.Load()))
	})
	return r.report
}
