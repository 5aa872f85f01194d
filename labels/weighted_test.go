package labels

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWeightedFileSplitsEachServiceInTwoChildren(t *testing.T) {
	r, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.web.rule":                      "Host(`example.com`)",
		"traefik.http.services.web.loadbalancer.server.port": "8080",
	}, "web", nil)
	require.NoError(t, err)

	sp := Split{Stable: []Target{{Host: "web-1"}}, Canary: []Target{{Host: "web-2"}}, CanaryWeight: 5, Sticky: true}
	got, err := r.WeightedFile("web", sp)
	require.NoError(t, err, "the file passes CheckFile, as Traefik would decode it")

	cfg := decodeFile(t, got)
	web := cfg.HTTP.Services["web"]
	require.NotNil(t, web.Weighted)
	assert.Nil(t, web.LoadBalancer)
	require.Len(t, web.Weighted.Services, 2)
	assert.Equal(t, "web-stable", web.Weighted.Services[0].Name)
	assert.Equal(t, 95, *web.Weighted.Services[0].Weight)
	assert.Equal(t, "web-canary", web.Weighted.Services[1].Name)
	assert.Equal(t, 5, *web.Weighted.Services[1].Weight)
	require.NotNil(t, web.Weighted.Sticky, "sticky at the weighted level")
	assert.Equal(t, "http://web-1:8080", cfg.HTTP.Services["web-stable"].LoadBalancer.Servers[0].URL)
	assert.Equal(t, "http://web-2:8080", cfg.HTTP.Services["web-canary"].LoadBalancer.Servers[0].URL)
	assert.NotNil(t, cfg.HTTP.Services["web-canary"].LoadBalancer.Sticky, "sticky at the child level too")
	assert.Equal(t, "web", cfg.HTTP.Routers["web"].Service, "routers keep pointing at the service's own name")

	assert.Equal(t, map[string][]string{"web-stable": {"http://web-1:8080"}, "web-canary": {"http://web-2:8080"}}, r.WeightedServerURLs(sp))

	rf, err := ReadRouteFile(got)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"web", "web-stable", "web-canary"}, rf.Services)
	assert.Equal(t, []string{"http://web-2:8080"}, rf.Servers["web-canary"])

	hosts, canary := rf.StableHosts()
	assert.True(t, canary)
	assert.Equal(t, []string{"web-1"}, hosts, "a killed canary is undone: only the stable child counts as routed")

	_, err = r.WeightedFile("web", Split{CanaryWeight: 101})
	assert.Error(t, err)
}

func TestWeightedLabelIsRefused(t *testing.T) {
	// Traefik ignores weighted services in labels; dswap must not pretend
	// to honour one.
	_, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.web.rule":                       "Host(`example.com`)",
		"traefik.http.services.web.weighted.services[0].name": "x",
	}, "web", nil)
	assert.Error(t, err)
}
