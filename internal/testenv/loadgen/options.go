package loadgen

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultClients     = 8
	DefaultMaxRequests = 1_000_000
	DefaultTimeout     = 30 * time.Second
	DefaultHung        = 5 * time.Second
	// maxClients keeps a typo from opening thousands of connections.
	maxClients = 1024
)

// Options configures a load run.
type Options struct {
	URL         string        // e.g. lab.WebURL + "/"; host must be 127.0.0.1 or localhost
	Host        string        // Host header, for routing; empty keeps the URL's host
	Clients     int           // concurrent closed-loop clients (default 8)
	MaxDuration time.Duration // no request starts after this (required > 0)
	MaxRequests int           // no more requests than this are sent (0 = 1_000_000)
	Timeout     time.Duration // per-request timeout (default 30s)
	Hung        time.Duration // latency counted as hung (default 5s)
	Query       string        // optional raw query added to the URL, e.g. "delay=3s"
}

// withDefaults validates o, fills in defaults and returns the full target
// URL including Query.
func (o Options) withDefaults() (Options, string, error) {
	target, err := targetURL(o.URL, o.Query)
	if err != nil {
		return o, "", err
	}
	switch {
	case o.MaxDuration <= 0:
		return o, "", errors.New("loadgen: MaxDuration must be > 0: every run needs a time bound")
	case o.Clients < 0 || o.Clients > maxClients:
		return o, "", fmt.Errorf("loadgen: Clients=%d: want 0 (default %d) to %d", o.Clients, DefaultClients, maxClients)
	case o.MaxRequests < 0:
		return o, "", fmt.Errorf("loadgen: MaxRequests=%d must not be negative", o.MaxRequests)
	case o.Timeout < 0:
		return o, "", fmt.Errorf("loadgen: Timeout=%s must not be negative", o.Timeout)
	case o.Hung < 0:
		return o, "", fmt.Errorf("loadgen: Hung=%s must not be negative", o.Hung)
	}
	if o.Clients == 0 {
		o.Clients = DefaultClients
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Hung == 0 {
		o.Hung = DefaultHung
	}
	return o, target, nil
}

// targetURL checks that raw points at this machine and appends query.
func targetURL(raw, query string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("loadgen: parsing URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("loadgen: URL %q: scheme must be http or https", raw)
	}
	// Load must never leave this machine, so only loopback names are taken.
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" {
		return "", fmt.Errorf("loadgen: URL %q: host must be 127.0.0.1 or localhost, not %q", raw, h)
	}
	if q := strings.TrimPrefix(query, "?"); q != "" {
		if u.RawQuery == "" {
			u.RawQuery = q
		} else {
			u.RawQuery += "&" + q
		}
	}
	return u.String(), nil
}
