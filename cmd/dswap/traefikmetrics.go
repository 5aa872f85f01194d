package main

import (
	"net/url"

	"github.com/dswap-dev/dswap/traefik"
)

// traefikMetricsURL is where dswap reads Traefik's Prometheus metrics:
// --traefik-metrics (DSWAP_TRAEFIK_METRICS) when given; else, when the
// Traefik container serves them on an entrypoint of their own
// (metrics.prometheus.entryPoint), that entrypoint as this host reaches
// it; else /metrics on the API dswap confirms with, which is where Traefik
// serves them by default (the "traefik" entrypoint), at the address known
// to work; else what the container's flags say. "" when none is known:
// a canary judged on metrics is then refused before it starts.
func traefikMetricsURL(given string, inst *traefik.Instance, api *traefik.API) (string, error) {
	if given != "" {
		u, err := url.Parse(given)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", usagef("--traefik-metrics %q: want the URL of Traefik's Prometheus metrics, such as http://127.0.0.1:8082/metrics", given)
		}
		return given, nil
	}
	if inst != nil && inst.MetricsURL != "" && inst.MetricsEntryPoint != "traefik" {
		return inst.MetricsURL, nil
	}
	if api != nil {
		return api.String() + "/metrics", nil
	}
	if inst != nil {
		return inst.MetricsURL, nil
	}
	return "", nil
}
