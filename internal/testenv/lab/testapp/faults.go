package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// faults make a release that passes its HEALTHCHECK and still hurts real
// requests: /healthz stays as the other settings make it, while the other
// paths fail a share of requests (FAIL_RATE) or answer late
// (EXTRA_LATENCY). It is what a canary analysis must catch and a health
// check cannot.
type faults struct {
	// FailRate is the share of requests, from 0 to 1, answered 500.
	FailRate float64
	// ExtraLatency is added to every request before it is answered.
	ExtraLatency time.Duration
	// served counts the requests seen, so that failures are spread evenly
	// (every 1/FailRate-th request) rather than at random: a test then
	// knows the failure count a given number of requests produces.
	served atomic.Uint64
}

// loadFaults reads FAIL_RATE (a share such as 0.2, or 20%) and
// EXTRA_LATENCY (a Go duration); nil when neither is set.
func loadFaults(getenv func(string) string) (*faults, error) {
	f := &faults{}
	if v := strings.TrimSpace(getenv("FAIL_RATE")); v != "" {
		pct := strings.HasSuffix(v, "%")
		n, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if pct {
			n /= 100
		}
		if err != nil || n < 0 || n > 1 {
			return nil, fmt.Errorf("FAIL_RATE=%q: want a share from 0 to 1 (0.2) or a percentage (20%%)", v)
		}
		f.FailRate = n
	}
	d, err := parseEnvDuration("EXTRA_LATENCY", getenv("EXTRA_LATENCY"))
	if err != nil {
		return nil, err
	}
	f.ExtraLatency = d
	if f.FailRate == 0 && f.ExtraLatency == 0 {
		return nil, nil // no faults: the handlers run unwrapped
	}
	return f, nil
}

// wrap applies the faults to every path but /healthz.
func (f *faults) wrap(next http.Handler) http.Handler {
	if f == nil || (f.FailRate == 0 && f.ExtraLatency == 0) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if err := sleepContext(r.Context(), f.ExtraLatency); err != nil {
			return
		}
		if f.fail() {
			w.Header().Set("X-Fault", "FAIL_RATE")
			http.Error(w, "failing on purpose (FAIL_RATE)", http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fail decides whether this request fails: the n-th request fails when
// the count of failures owed, n*FailRate, passes a whole number.
func (f *faults) fail() bool {
	if f.FailRate <= 0 {
		return false
	}
	n := f.served.Add(1)
	owed := func(k uint64) uint64 { return uint64(float64(k) * f.FailRate) }
	return owed(n) > owed(n-1)
}
