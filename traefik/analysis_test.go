package traefik

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func exposition(okCanary, failedCanary int, slowCanary bool) string {
	var b strings.Builder
	b.WriteString("# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.\n")
	b.WriteString("# TYPE traefik_service_requests_total counter\n")
	b.WriteString(`traefik_service_requests_total{code="200",method="GET",protocol="http",service="web-canary@file"} ` + itoa(okCanary) + "\n")
	b.WriteString(`traefik_service_requests_total{code="500",method="GET",protocol="http",service="web-canary@file"} ` + itoa(failedCanary) + "\n")
	b.WriteString(`traefik_service_requests_total{code="200",method="GET",protocol="http",service="web-stable@file"} 1000` + "\n")
	b.WriteString("# HELP traefik_service_request_duration_seconds How long it took to process the request on a service, partitioned by status code, protocol, and method.\n")
	b.WriteString("# TYPE traefik_service_request_duration_seconds histogram\n")
	n := okCanary + failedCanary
	fast, slow := n, n
	if slowCanary {
		fast = 0
	}
	for _, le := range []struct {
		bound string
		count int
	}{{"0.1", fast}, {"0.3", fast}, {"1.2", slow}, {"5", slow}, {"+Inf", slow}} {
		b.WriteString(`traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="web-canary@file",le="` + le.bound + `"} ` + itoa(le.count) + "\n")
	}
	b.WriteString(`traefik_service_request_duration_seconds_sum{code="200",method="GET",protocol="http",service="web-canary@file"} 1` + "\n")
	b.WriteString(`traefik_service_request_duration_seconds_count{code="200",method="GET",protocol="http",service="web-canary@file"} ` + itoa(n) + "\n")
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseServiceStatsSumsCodesAndCountsErrors(t *testing.T) {
	before, err := ParseServiceStats(strings.NewReader(exposition(100, 0, false)))
	require.NoError(t, err)
	after, err := ParseServiceStats(strings.NewReader(exposition(502, 98, false)))
	require.NoError(t, err)
	w := after["web-canary@file"].Sub(before["web-canary@file"])
	assert.Equal(t, 500.0, w.Requests)
	assert.Equal(t, 98.0, w.Errors)
	assert.Equal(t, 1000.0, after["web-stable@file"].Requests)
	p99, ok := w.Quantile(0.99)
	require.True(t, ok)
	assert.InDelta(t, 0.099, p99.Seconds(), 0.001, "all requests in the first bucket (up to 0.1 s): p99 near its top")
}

func TestQuantileOfSlowRequests(t *testing.T) {
	before, err := ParseServiceStats(strings.NewReader(exposition(0, 0, true)))
	require.NoError(t, err)
	after, err := ParseServiceStats(strings.NewReader(exposition(200, 0, true)))
	require.NoError(t, err)
	p99, ok := after["web-canary@file"].Sub(before["web-canary@file"]).Quantile(0.99)
	require.True(t, ok)
	assert.Greater(t, p99, 1100*time.Millisecond)
	_, ok = ServiceStats{}.Quantile(0.99)
	assert.False(t, ok, "no samples, no quantile")
}

func TestParseServiceStatsRefusesGarbage(t *testing.T) {
	_, err := ParseServiceStats(strings.NewReader("traefik_service_requests_total{service=\"a\" 1\n"))
	assert.Error(t, err)
}
