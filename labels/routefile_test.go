package labels

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadRouteFileRoundTrip(t *testing.T) {
	r, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.web.rule":                        "Host(`a`)",
		"traefik.http.routers.web.middlewares":                 "strip",
		"traefik.http.middlewares.strip.stripprefix.prefixes":  "/api",
		"traefik.http.services.web.loadbalancer.server.port":   "8080",
		"traefik.http.services.admin.loadbalancer.server.port": "9090",
		"traefik.http.routers.admin.rule":                      "Host(`b`)",
		"traefik.http.routers.admin.service":                   "admin",
		"traefik.http.routers.web.service":                     "web",
	}, "shop", nil)
	require.NoError(t, err)
	content, err := r.File("shop", []Target{{Host: "shop-2"}, {Host: "10.0.0.7"}})
	require.NoError(t, err)

	rf, err := ReadRouteFile(content)
	require.NoError(t, err)
	assert.Equal(t, []string{"admin", "web"}, rf.Routers)
	assert.Equal(t, []string{"admin", "web"}, rf.Services)
	assert.Equal(t, []string{"strip"}, rf.Middlewares)
	assert.Equal(t, []string{"http://shop-2:8080", "http://10.0.0.7:8080"}, rf.Servers["web"])
	assert.Equal(t, []string{"10.0.0.7", "shop-2"}, rf.Hosts())
}

func TestReadRouteFileErrors(t *testing.T) {
	_, err := ReadRouteFile([]byte("http: [unclosed"))
	assert.ErrorContains(t, err, "not YAML")
	rf, err := ReadRouteFile([]byte(""))
	require.NoError(t, err)
	assert.Empty(t, rf.Hosts())
}
