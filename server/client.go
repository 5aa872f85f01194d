package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to a sidecar's API: what `dswap up` uses when DSWAP_HOST
// is set.
type Client struct {
	base  string
	host  string
	token string
	http  *http.Client
}

// NewClient returns a client for host: http://HOST:PORT, https://...,
// HOST:PORT, tcp://HOST:PORT or unix:///PATH.
func NewClient(host, token string) (*Client, error) {
	tr := &http.Transport{
		Proxy:                 nil, // the sidecar is ours; never send the token through a proxy
		ResponseHeaderTimeout: time.Minute,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	c := &Client{host: host, token: token, http: &http.Client{Transport: tr}}
	switch {
	case strings.HasPrefix(host, "http://"), strings.HasPrefix(host, "https://"):
		u, err := url.Parse(host)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("DSWAP_HOST %q is not a URL such as http://127.0.0.1:7070", host)
		}
		c.base = strings.TrimRight(u.String(), "/")
	default:
		a, err := ParseAddress(host)
		if err != nil {
			return nil, fmt.Errorf("DSWAP_HOST %w", err)
		}
		if a.Network == "unix" {
			var d net.Dialer
			tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", a.Addr)
			}
			c.base = "http://dswap"
		} else {
			c.base = "http://" + a.Addr
		}
	}
	return c, nil
}

// APIError is an error answer of the sidecar, before any swap ran.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("the dswap sidecar answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// ExitCode is the code a local dswap would have ended with.
func (e *APIError) SwapExitCode() int { return exitOfStatus(e.Status) }

// UnreachableError is a sidecar that could not be reached: nothing was
// asked of it, so nothing changed.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the dswap sidecar at %s (DSWAP_HOST): %v; nothing was changed", e.Host, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ExitCode: a wrong DSWAP_HOST is the caller's to fix, like bad input.
func (e *UnreachableError) SwapExitCode() int { return ExitBadInput }

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &UnreachableError{Host: c.host, Err: err}
		}
		return nil, fmt.Errorf("calling the dswap sidecar at %s: %w", c.host, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var ae apiError
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
			msg = ae.Error
		}
		return nil, &APIError{Status: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

// StartSwap asks for a swap and returns its id.
func (c *Client) StartSwap(ctx context.Context, req SwapRequest) (string, error) {
	path := "/v1/swaps"
	if req.Service != "" {
		path = "/v1/services/" + url.PathEscape(req.Service) + "/swap"
	}
	resp, err := c.do(ctx, http.MethodPost, path, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var a accepted
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.ID == "" {
		return "", fmt.Errorf("the dswap sidecar's answer to the swap has no id: %v", err)
	}
	return a.ID, nil
}

// StartCanaryEnd asks for the promote or abort (kind) of a service's
// paused canary and returns the id of the run, followed like a swap.
func (c *Client) StartCanaryEnd(ctx context.Context, kind, service string, req CanaryEndRequest) (string, error) {
	if kind != kindPromote && kind != kindAbort {
		return "", fmt.Errorf("a paused canary ends with promote or abort, not %q", kind)
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(service)+"/"+kind, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var a accepted
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.ID == "" {
		return "", fmt.Errorf("the dswap sidecar's answer to the %s has no id: %v", kind, err)
	}
	return a.ID, nil
}

// Cancel interrupts a swap (it rolls back before its flip).
func (c *Client) Cancel(ctx context.Context, id string) error {
	resp, err := c.do(ctx, http.MethodPost, "/v1/swaps/"+url.PathEscape(id)+"/cancel", nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Follow streams a swap's progress records to onRecord until its outcome
// arrives. A stream that breaks is picked up again where it stopped.
func (c *Client) Follow(ctx context.Context, id string, onRecord func(slog.Record)) (Outcome, error) {
	next := 0
	return c.follow(ctx, id, &next, onRecord)
}

// follow is Follow from record number *next on, counting what it reads.
func (c *Client) follow(ctx context.Context, id string, next *int, onRecord func(slog.Record)) (Outcome, error) {
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return Outcome{}, ctx.Err()
			case <-t.C:
			}
		}
		path := "/v1/swaps/" + url.PathEscape(id) + "/events?format=ndjson"
		if *next > 0 {
			path += "&after=" + strconv.Itoa(*next-1)
		}
		resp, err := c.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound && attempt > 0 {
				// It knew the swap a moment ago: it restarted meanwhile.
				return Outcome{}, fmt.Errorf("following swap %s: %w; %s", id, err, lostSwapHint)
			}
			if errors.As(err, &ae) || ctx.Err() != nil {
				return Outcome{}, err
			}
			lastErr = err
			continue
		}
		out, done, err := readStream(resp.Body, next, onRecord)
		resp.Body.Close()
		if done {
			return out, nil
		}
		if ctx.Err() != nil {
			return Outcome{}, ctx.Err()
		}
		lastErr = err
	}
	return Outcome{}, fmt.Errorf("following swap %s on the dswap sidecar: %w; %s", id, lastErr, lostSwapHint)
}

// lostSwapHint says what to do about a swap whose sidecar went away in the
// middle of it: its state is in Docker and the routes directory, as a
// killed dswap's, and the next command puts it right.
const lostSwapHint = "the sidecar stopped or restarted in the middle of the swap, which is left as a killed dswap leaves it: once the sidecar runs, `dswap status SERVICE` shows it and the next `dswap up` or `dswap sync SERVICE` (or the sidecar's keeper) finishes or undoes it"

// readStream reads NDJSON until the outcome; next counts records read.
func readStream(body io.Reader, next *int, onRecord func(slog.Record)) (Outcome, bool, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue // keep-alive
		}
		var probe struct {
			Msg    *string `json:"msg"`
			Result *string `json:"result"`
		}
		if err := json.Unmarshal(line, &probe); err != nil {
			return Outcome{}, false, fmt.Errorf("the event stream sent something that is not JSON: %.80s", line)
		}
		if probe.Msg == nil && probe.Result != nil {
			var out Outcome
			if err := json.Unmarshal(line, &out); err != nil {
				return Outcome{}, false, err
			}
			return out, true, nil
		}
		*next++
		if rec, err := DecodeRecord(line); err == nil && onRecord != nil {
			onRecord(rec)
		}
	}
	if err := sc.Err(); err != nil {
		return Outcome{}, false, err
	}
	return Outcome{}, false, io.ErrUnexpectedEOF
}

// cancelGrace bounds how long Up keeps following a swap it cancelled:
// enough for a rollback, or for a drain that had already begun.
const cancelGrace = 10 * time.Minute

// Up runs a swap on the sidecar and follows it to its outcome. When ctx
// ends (Ctrl-C) it cancels the swap, as Ctrl-C cancels a local one, and
// still waits for the outcome: a rollback before the flip, or the end of
// the drain after it.
func (c *Client) Up(ctx context.Context, req SwapRequest, onStart func(id string), onRecord func(slog.Record)) (Outcome, error) {
	id, err := c.StartSwap(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	return c.followToEnd(ctx, id, onStart, onRecord)
}

// CanaryEnd promotes or aborts (kind) a service's paused canary on the
// sidecar and follows the run to its outcome, as Up follows a swap.
func (c *Client) CanaryEnd(ctx context.Context, kind, service string, req CanaryEndRequest, onStart func(id string), onRecord func(slog.Record)) (Outcome, error) {
	id, err := c.StartCanaryEnd(ctx, kind, service, req)
	if err != nil {
		return Outcome{}, err
	}
	return c.followToEnd(ctx, id, onStart, onRecord)
}

// followToEnd follows run id to its outcome; when ctx ends it cancels the
// run and still waits for its outcome.
func (c *Client) followToEnd(ctx context.Context, id string, onStart func(id string), onRecord func(slog.Record)) (Outcome, error) {
	if onStart != nil {
		onStart(id)
	}
	next := 0
	out, err := c.follow(ctx, id, &next, onRecord)
	if err == nil || ctx.Err() == nil {
		return out, err
	}
	detached, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
	defer cancel()
	if cerr := c.Cancel(detached, id); cerr != nil {
		return Outcome{}, fmt.Errorf("interrupted, and cancelling swap %s on the sidecar failed: %w; it may still run: see GET /v1/swaps/%s", id, cerr, id)
	}
	return c.follow(detached, id, &next, onRecord)
}
