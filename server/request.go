package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

// SwapRequest is the body of POST /v1/services/{service}/swap (and of
// POST /v1/swaps, where it names the service). Durations are Go duration
// strings ("30s", "1m30s"); fields left out take the service's dswap.*
// labels, then dswap's defaults, as on the command line.
type SwapRequest struct {
	Image         string  `json:"image"`
	Service       string  `json:"service,omitempty"`
	Drain         string  `json:"drain,omitempty"`
	HealthTimeout string  `json:"health_timeout,omitempty"`
	HealthCmd     *string `json:"health_cmd,omitempty"`
	NoHealthcheck *bool   `json:"no_healthcheck,omitempty"`
	Settle        string  `json:"settle,omitempty"`
	FlipTimeout   string  `json:"flip_timeout,omitempty"`
	ProbeInterval string  `json:"probe_interval,omitempty"`
	Monitor       string  `json:"monitor,omitempty"`
	// Pull is missing, always or never; empty takes the sidecar's --pull.
	Pull  string `json:"pull,omitempty"`
	Force bool   `json:"force,omitempty"`
	// LockWait bounds the wait for another swap of the service; empty
	// takes the sidecar's --lock-wait.
	LockWait string `json:"lock_wait,omitempty"`
}

// RollbackRequest is the optional body of POST .../rollback.
type RollbackRequest struct {
	Drain         string `json:"drain,omitempty"`
	HealthTimeout string `json:"health_timeout,omitempty"`
	FlipTimeout   string `json:"flip_timeout,omitempty"`
	Monitor       string `json:"monitor,omitempty"`
}

// maxRequestBody bounds API request bodies.
const maxRequestBody = 1 << 20

// decodeStrict reads one JSON object, refusing unknown fields: a typo in a
// setting must not silently fall back to a default.
func decodeStrict(body io.Reader, into any) error {
	data, err := io.ReadAll(io.LimitReader(body, maxRequestBody+1))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if len(data) > maxRequestBody {
		return fmt.Errorf("the request body is larger than %d bytes", maxRequestBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("the request body is not the expected JSON object: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("the request body has more than one JSON value")
	}
	return nil
}

// Overrides turns the request's settings into a swap's overrides.
func (r SwapRequest) Overrides() (swap.Overrides, error) {
	over := swap.Overrides{HealthCmd: r.HealthCmd, NoHealthcheck: r.NoHealthcheck}
	for _, d := range []struct {
		name  string
		value string
		dst   **time.Duration
	}{
		{"drain", r.Drain, &over.Drain},
		{"health_timeout", r.HealthTimeout, &over.HealthTimeout},
		{"settle", r.Settle, &over.Settle},
		{"flip_timeout", r.FlipTimeout, &over.FlipTimeout},
		{"probe_interval", r.ProbeInterval, &over.ProbeInterval},
		{"monitor", r.Monitor, &over.Monitor},
	} {
		v, err := parseDuration(d.name, d.value)
		if err != nil {
			return over, err
		}
		*d.dst = v
	}
	return over, nil
}

// PullPolicy returns the request's pull policy, or def when it has none.
func (r SwapRequest) PullPolicy(def engine.PullPolicy) (engine.PullPolicy, error) {
	if r.Pull == "" {
		return def, nil
	}
	return engine.ParsePullPolicy(r.Pull)
}

// validate checks what can be checked before a swap starts.
func (r SwapRequest) validate() error {
	if strings.TrimSpace(r.Image) == "" {
		return fmt.Errorf(`"image" is required, e.g. {"image": "myapp:v2"}`)
	}
	if _, err := r.Overrides(); err != nil {
		return err
	}
	if _, err := r.PullPolicy(engine.PullMissing); err != nil {
		return err
	}
	_, err := parseDuration("lock_wait", r.LockWait)
	return err
}

// Overrides turns the rollback's settings into overrides.
func (r RollbackRequest) Overrides() (swap.Overrides, error) {
	return SwapRequest{Drain: r.Drain, HealthTimeout: r.HealthTimeout, FlipTimeout: r.FlipTimeout, Monitor: r.Monitor}.Overrides()
}

func parseDuration(name, v string) (*time.Duration, error) {
	if v == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("%q: %q is not a duration such as 30s or 1m30s", name, v)
	}
	return &d, nil
}

// NewSwapRequest builds the request for a swap the CLI hands to a
// sidecar, from the settings it layered from flags and DSWAP_* variables.
func NewSwapRequest(image, service string, over swap.Overrides, pull string, force bool, lockWait *time.Duration) SwapRequest {
	r := SwapRequest{Image: image, Service: service, HealthCmd: over.HealthCmd, NoHealthcheck: over.NoHealthcheck, Pull: pull, Force: force}
	if lockWait != nil {
		r.LockWait = lockWait.String()
	}
	for _, d := range []struct {
		src *time.Duration
		dst *string
	}{
		{over.Drain, &r.Drain}, {over.HealthTimeout, &r.HealthTimeout}, {over.Settle, &r.Settle},
		{over.FlipTimeout, &r.FlipTimeout}, {over.ProbeInterval, &r.ProbeInterval}, {over.Monitor, &r.Monitor},
	} {
		if d.src != nil {
			*d.dst = d.src.String()
		}
	}
	return r
}
