package traefik

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Traefik's per-service request counter. Traefik has no per-server
// counter, so the report can show how much the service answered, but not
// which container answered it.
const serviceRequestsMetric = "traefik_service_requests_total"

const (
	// SampleEvery is how often the report polls Traefik's /metrics.
	SampleEvery = 100 * time.Millisecond
	// maxSamples bounds the sampler's memory: an hour of samples.
	maxSamples = 36000
)

// MetricsSample is the counters of every service at one instant.
type MetricsSample struct {
	At time.Time
	// Requests and Failed (5xx) are per Traefik service name, e.g.
	// "web@file", summed over codes, methods and protocols.
	Requests map[string]float64
	Failed   map[string]float64
}

// Sampler polls Traefik's Prometheus endpoint in the background.
type Sampler struct {
	url    string
	client *http.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples []MetricsSample
	lastErr error
}

// StartSampler polls url every interval until stop is called or ctx ends.
func StartSampler(ctx context.Context, url string, every time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{
		url:    url,
		client: &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConns: 1}},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go s.loop(ctx, every)
	return s
}

func (s *Sampler) loop(ctx context.Context, every time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		s.sampleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (s *Sampler) sampleOnce(ctx context.Context) {
	sample, err := s.fetch(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.lastErr = err
		}
		return
	}
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, sample)
	}
}

func (s *Sampler) fetch(ctx context.Context) (MetricsSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return MetricsSample{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return MetricsSample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return MetricsSample{}, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	at := time.Now()
	requests, failed, err := parseServiceRequests(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return MetricsSample{}, fmt.Errorf("reading %s: %w", s.url, err)
	}
	return MetricsSample{At: at, Requests: requests, Failed: failed}, nil
}

// Stop ends the polling and returns the samples and, when there are none,
// why.
func (s *Sampler) Stop() ([]MetricsSample, error) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		if s.lastErr != nil {
			return nil, s.lastErr
		}
		return nil, errors.New("no sample was taken")
	}
	return s.samples, nil
}

// parseServiceRequests reads Prometheus text exposition and sums
// traefik_service_requests_total per service, all and 5xx.
func parseServiceRequests(r io.Reader) (requests, failed map[string]float64, err error) {
	requests, failed = map[string]float64{}, map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, serviceRequestsMetric+"{")
		if !ok {
			continue
		}
		end := strings.LastIndex(rest, "}")
		if end < 0 {
			return nil, nil, fmt.Errorf("malformed line %q", line)
		}
		labels, err := parsePromLabels(rest[:end])
		if err != nil {
			return nil, nil, fmt.Errorf("line %q: %w", line, err)
		}
		fields := strings.Fields(rest[end+1:])
		if len(fields) == 0 {
			return nil, nil, fmt.Errorf("line %q has no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("line %q: value: %w", line, err)
		}
		svc := labels["service"]
		requests[svc] += v
		if strings.HasPrefix(labels["code"], "5") {
			failed[svc] += v
		}
	}
	return requests, failed, sc.Err()
}

// parsePromLabels parses `a="x",b="y"` with Prometheus's escapes (\\, \", \n).
func parsePromLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, fmt.Errorf("malformed labels near %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, fmt.Errorf("unterminated value of label %q", name)
		}
		out[name] = val.String()
		s = strings.TrimPrefix(s[i+1:], ",")
	}
	return out, nil
}
