package traefik

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleMetrics = `# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{code="200",method="GET",protocol="http",service="web@file"} 120
traefik_service_requests_total{code="502",method="GET",protocol="http",service="web@file"} 3
traefik_service_requests_total{code="200",method="GET",protocol="http",service="other@docker"} 7
traefik_service_requests_total{code="200",method="GET",protocol="http",service="odd\"name\\x@file"} 1
traefik_service_requests_bytes_total{code="200",method="GET",protocol="http",service="web@file"} 99999
traefik_router_requests_total{code="200",method="GET",protocol="http",router="web@file",service="web@file"} 120
`

func TestParseServiceRequests(t *testing.T) {
	requests, failed, err := parseServiceRequests(strings.NewReader(sampleMetrics))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"web@file": 123, "other@docker": 7, `odd"name\x@file`: 1}, requests)
	assert.Equal(t, map[string]float64{"web@file": 3}, failed)
}

func TestParseServiceRequestsRejectsMalformed(t *testing.T) {
	for _, line := range []string{
		`traefik_service_requests_total{code="200",service="web@file" 1`,
		`traefik_service_requests_total{code="200,service="web@file"} 1`,
		`traefik_service_requests_total{code="200",service="web@file"}`,
		`traefik_service_requests_total{code="200",service="web@file"} many`,
	} {
		_, _, err := parseServiceRequests(strings.NewReader(line + "\n"))
		assert.Error(t, err, line)
	}
}

func TestSamplerPollsUntilStopped(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := n.Add(1) * 10
		fmt.Fprintf(w, "traefik_service_requests_total{code=\"200\",service=\"web@file\"} %d\n", v)
	}))
	defer srv.Close()
	s := StartSampler(context.Background(), srv.URL, 5*time.Millisecond)
	require.Eventually(t, func() bool { return n.Load() >= 3 }, 5*time.Second, 5*time.Millisecond)
	samples, err := s.Stop()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(samples), 3)
	assert.Less(t, samples[0].Requests["web@file"], samples[len(samples)-1].Requests["web@file"])
	after := n.Load()
	time.Sleep(20 * time.Millisecond) // long enough for four more polls, were it still polling
	// One request may have been on its way when stop cancelled it; the
	// server still counts it.
	assert.LessOrEqual(t, n.Load(), after+1, "no polling after stop")
}

func TestSamplerReportsWhyItHasNoSamples(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()
	s := StartSampler(context.Background(), srv.URL+"/metrics", 5*time.Millisecond)
	time.Sleep(30 * time.Millisecond) // a few polls, all refused
	_, err := s.Stop()
	require.ErrorContains(t, err, "404")
}
