package server

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestCanaryWeightGauge(t *testing.T) {
	m := NewMetrics(nil)
	weights := map[string]int{"shop/web": 25}
	m.WatchCanaries(func() map[string]int { return weights })
	want := `
# HELP dswap_canary_weight Share of the service's traffic (percent) that its canary gets in the route Traefik is given; absent when the service routes to one version.
# TYPE dswap_canary_weight gauge
dswap_canary_weight{service="shop/web"} 25
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "dswap_canary_weight"))

	// Read at each scrape: the promotion shows at once, and a service
	// back on one version leaves the gauge.
	weights = map[string]int{}
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(""), "dswap_canary_weight"))
}
