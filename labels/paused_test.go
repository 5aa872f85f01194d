package labels

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPausedCanaryIsReadBackFromItsRouteFile(t *testing.T) {
	r, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.web.rule":                      "Host(`example.com`)",
		"traefik.http.services.web.loadbalancer.server.port": "8080",
	}, "web", nil)
	require.NoError(t, err)
	weighted, err := r.WeightedFile("web", Split{Stable: []Target{{Host: "web-1"}}, Canary: []Target{{Host: "web-2"}}, CanaryWeight: 10, Sticky: true})
	require.NoError(t, err)

	_, ok := ReadPaused(weighted)
	assert.False(t, ok, "a canary in the middle of a step is not paused: a killed dswap's canary is undone")

	paused := MarkPaused(weighted, []int{10, 50}, true)
	require.NoError(t, CheckFile(routeFileName, paused), "Traefik still reads the file")
	stamped, err := Stamp(paused, "web", 7)
	require.NoError(t, err)
	owner, ok := FileOwner(stamped)
	require.True(t, ok)
	assert.Equal(t, "web", owner, "the header stays readable")

	pc, ok := ReadPaused(stamped)
	require.True(t, ok, "the line survives the generation stamp")
	assert.Equal(t, PausedCanary{Weight: 10, Weights: []int{10, 50}, Sticky: true}, pc)

	plain, err := r.File("web", []Target{{Host: "web-1"}})
	require.NoError(t, err)
	_, ok = ReadPaused(plain)
	assert.False(t, ok)
}
