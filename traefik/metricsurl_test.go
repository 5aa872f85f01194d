package traefik

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

func TestMetricsURLFromTheStaticConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"metrics off", []string{"--api.insecure=true"}, nil, ""},
		{"on the traefik entrypoint, published", []string{"--metrics.prometheus=true", "--metrics.prometheus.addServicesLabels=true"}, nil, "http://127.0.0.1:9000/metrics"},
		{"without the API's insecure flag", []string{"--metrics.prometheus=true"}, nil, "http://127.0.0.1:9000/metrics"},
		{"an entrypoint of their own, not published: the container's IP", []string{"--metrics.prometheus.entryPoint=metrics", "--entryPoints.metrics.address=:8082"}, nil, "http://172.20.0.2:8082/metrics"},
		{"from the environment", nil, []string{"TRAEFIK_METRICS_PROMETHEUS_ENTRYPOINT=metrics", "TRAEFIK_ENTRYPOINTS_METRICS_ADDRESS=:9100"}, "http://172.20.0.2:9100/metrics"},
		{"an entrypoint whose address is unknown", []string{"--metrics.prometheus.entrypoint=elsewhere"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := traefikContainer(tc.args...)
			c.Env = tc.env
			inst, err := Inspect(c)
			require.NoError(t, err)
			assert.Equal(t, tc.want, inst.MetricsURL)
		})
	}
}

func TestMetricsURLFromTheStaticFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "traefik.yml"), []byte("entryPoints:\n  metrics:\n    address: \":8082\"\nmetrics:\n  prometheus:\n    entryPoint: metrics\n    addServicesLabels: true\n"), 0o644))
	c := traefikContainer()
	c.Mounts = append(c.Mounts, engine.Mount{Type: "bind", Source: dir, Destination: "/etc/traefik"})
	inst, err := Inspect(c)
	require.NoError(t, err)
	assert.True(t, inst.Metrics)
	assert.True(t, inst.MetricsServiceLabels)
	assert.Equal(t, "http://172.20.0.2:8082/metrics", inst.MetricsURL)
}
