package traefik

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Traefik's per-service latency histogram, in seconds (with
// --metrics.prometheus.addServicesLabels=true).
const serviceDurationMetric = "traefik_service_request_duration_seconds"

// ServiceStats are one Traefik service's request counters at an instant,
// or, after Sub, over a window.
type ServiceStats struct {
	Requests float64
	// Errors are the requests Traefik answered 5xx, its own 502 and 504
	// for the service's servers included.
	Errors float64
	// Buckets is the cumulative latency histogram, by upper bound in
	// seconds, ascending; the last bound is +Inf.
	Buckets []Bucket
}

// Bucket is one cumulative histogram bucket.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// Snapshot is every service's counters at one instant, by Traefik
// service name ("web-canary@file").
type Snapshot struct {
	At       time.Time
	Services map[string]ServiceStats
}

// MetricsReader reads Traefik's Prometheus endpoint on demand.
type MetricsReader struct {
	url    string
	client *http.Client
}

// NewMetricsReader reads the Prometheus text at url (Traefik's
// http://HOST:PORT/metrics).
func NewMetricsReader(url string) *MetricsReader {
	return &MetricsReader{url: url, client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConns: 1}}}
}

// URL is where the metrics are read.
func (m *MetricsReader) URL() string { return m.url }

// Snapshot reads the counters once.
func (m *MetricsReader) Snapshot(ctx context.Context) (Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return Snapshot{}, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return Snapshot{}, fmt.Errorf("reading Traefik's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Snapshot{}, fmt.Errorf("reading Traefik's metrics: GET %s: %s; start Traefik with --metrics.prometheus=true and --metrics.prometheus.addServicesLabels=true", m.url, resp.Status)
	}
	at := time.Now()
	services, err := ParseServiceStats(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return Snapshot{}, fmt.Errorf("reading Traefik's metrics at %s: %w", m.url, err)
	}
	return Snapshot{At: at, Services: services}, nil
}

// ParseServiceStats reads Prometheus text exposition with the Prometheus
// parser and sums, per service, the request counter (all codes, and 5xx)
// and the latency histogram over every other label (method, protocol,
// code).
func ParseServiceStats(r io.Reader) (map[string]ServiceStats, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := map[string]ServiceStats{}
	if fam := families[serviceRequestsMetric]; fam != nil {
		for _, m := range fam.GetMetric() {
			name, code := label(m, "service"), label(m, "code")
			if name == "" {
				continue
			}
			st := out[name]
			v := m.GetCounter().GetValue()
			st.Requests += v
			if strings.HasPrefix(code, "5") {
				st.Errors += v
			}
			out[name] = st
		}
	}
	if fam := families[serviceDurationMetric]; fam != nil {
		for _, m := range fam.GetMetric() {
			name := label(m, "service")
			h := m.GetHistogram()
			if name == "" || h == nil {
				continue
			}
			st := out[name]
			st.Buckets = addBuckets(st.Buckets, h)
			out[name] = st
		}
	}
	return out, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// addBuckets adds a histogram's cumulative buckets to acc, by bound.
func addBuckets(acc []Bucket, h *dto.Histogram) []Bucket {
	byBound := map[float64]float64{}
	for _, b := range acc {
		byBound[b.UpperBound] += b.Count
	}
	hasInf := false
	for _, b := range h.GetBucket() {
		byBound[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		hasInf = hasInf || math.IsInf(b.GetUpperBound(), 1)
	}
	if !hasInf {
		// The +Inf bucket may be left out: it is the sample count.
		byBound[math.Inf(1)] += float64(h.GetSampleCount())
	}
	out := make([]Bucket, 0, len(byBound))
	for bound, n := range byBound {
		out = append(out, Bucket{UpperBound: bound, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperBound < out[j].UpperBound })
	return out
}

// Sub returns the counters of s minus those of before: what happened in
// between. A counter that went down (Traefik restarted) counts from zero.
func (s ServiceStats) Sub(before ServiceStats) ServiceStats {
	d := ServiceStats{Requests: delta(s.Requests, before.Requests), Errors: delta(s.Errors, before.Errors)}
	if s.Requests < before.Requests {
		d = ServiceStats{Requests: s.Requests, Errors: s.Errors, Buckets: s.Buckets}
		return d
	}
	prev := map[float64]float64{}
	for _, b := range before.Buckets {
		prev[b.UpperBound] = b.Count
	}
	for _, b := range s.Buckets {
		d.Buckets = append(d.Buckets, Bucket{UpperBound: b.UpperBound, Count: delta(b.Count, prev[b.UpperBound])})
	}
	return d
}

func delta(now, before float64) float64 {
	if now < before {
		return now
	}
	return now - before
}

// Quantile estimates the q-quantile (0.99 for p99) of the latency from the
// histogram, interpolating linearly inside the bucket that holds it, as
// Prometheus's histogram_quantile does. ok is false without samples. A
// quantile in the +Inf bucket is reported as the highest finite bound.
func (s ServiceStats) Quantile(q float64) (d time.Duration, ok bool) {
	if len(s.Buckets) == 0 {
		return 0, false
	}
	total := s.Buckets[len(s.Buckets)-1].Count
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range s.Buckets {
		if b.Count >= rank {
			if math.IsInf(b.UpperBound, 1) {
				return seconds(lower), true
			}
			inBucket := b.Count - below
			frac := 1.0
			if inBucket > 0 {
				frac = (rank - below) / inBucket
			}
			return seconds(lower + (b.UpperBound-lower)*frac), true
		}
		lower, below = b.UpperBound, b.Count
	}
	return seconds(lower), true
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Window is what happened to a service between two snapshots.
func Window(before, after Snapshot, service string) ServiceStats {
	return after.Services[service].Sub(before.Services[service])
}
