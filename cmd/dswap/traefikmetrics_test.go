package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/traefik"
)

func TestTraefikMetricsURL(t *testing.T) {
	api, err := traefik.NewAPI("http://127.0.0.1:9000")
	require.NoError(t, err)
	ownEntry := &traefik.Instance{MetricsURL: "http://172.20.0.2:8082/metrics", MetricsEntryPoint: "metrics"}
	onAPIEntry := &traefik.Instance{MetricsURL: "http://172.20.0.2:8080/metrics", MetricsEntryPoint: "traefik"}
	for _, tc := range []struct {
		name  string
		given string
		inst  *traefik.Instance
		api   *traefik.API
		want  string
	}{
		{"given wins", "http://127.0.0.1:8082/metrics", ownEntry, api, "http://127.0.0.1:8082/metrics"},
		{"an entrypoint of their own", "", ownEntry, api, "http://172.20.0.2:8082/metrics"},
		{"on the API's entrypoint: the API's address", "", onAPIEntry, api, "http://127.0.0.1:9000/metrics"},
		{"no container: the API's", "", nil, api, "http://127.0.0.1:9000/metrics"},
		{"no API: the container's flags", "", onAPIEntry, nil, "http://172.20.0.2:8080/metrics"},
		{"nothing known", "", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := traefikMetricsURL(tc.given, tc.inst, tc.api)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	for _, bad := range []string{"127.0.0.1:8082", "ftp://x/metrics", "http://"} {
		_, err := traefikMetricsURL(bad, nil, api)
		assert.ErrorContains(t, err, "--traefik-metrics", bad)
	}
}
