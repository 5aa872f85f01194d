package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// CanaryWeights reports, per service, the share of traffic its canary
// gets now (0 to 100); services without a canary are left out.
type CanaryWeights func() map[string]int

// canaryCollector reads the weights when Prometheus scrapes, rather than
// following the swaps: the route files are where a canary's weight lives
// (a paused canary outlives the swap and the sidecar that started it), so
// the gauge says what Traefik is told, whoever wrote it.
type canaryCollector struct {
	desc    *prometheus.Desc
	weights CanaryWeights
}

func (c canaryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c canaryCollector) Collect(ch chan<- prometheus.Metric) {
	for service, weight := range c.weights() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(weight), service)
	}
}

// WatchCanaries adds dswap_canary_weight, read from weights at each scrape.
func (m *Metrics) WatchCanaries(weights CanaryWeights) {
	m.reg.MustRegister(canaryCollector{
		desc: prometheus.NewDesc("dswap_canary_weight",
			"Share of the service's traffic (percent) that its canary gets in the route Traefik is given; absent when the service routes to one version.",
			[]string{"service"}, nil),
		weights: weights,
	})
}
