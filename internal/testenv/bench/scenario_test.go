package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelectScenarios(t *testing.T) {
	all, err := SelectScenarios("all")
	require.NoError(t, err)
	assert.Equal(t, Scenarios, all)
	got, err := SelectScenarios("hc30s, 50ms")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "50ms", got[0].Name, "the canonical order is kept")
	assert.Equal(t, "hc30s", got[1].Name)
	_, err = SelectScenarios("5ms")
	require.ErrorContains(t, err, `unknown name "5ms"`)
}

func TestSelectStrategies(t *testing.T) {
	got, err := SelectStrategies("labels+3s")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "labels-3s", got[0].Slug)
	assert.False(t, got[0].Dswap)
	_, err = SelectStrategies("kamal")
	require.ErrorContains(t, err, "dswap, dswap+keep, labels, labels+3s")
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{Swaps: 20, Clients: 8, Scenarios: Scenarios, Strategies: Strategies, TraefikBin: "/bin/traefik", OutDir: "out"}
	require.NoError(t, ok.validate())
	for name, mutate := range map[string]func(*Options){
		"no swaps":     func(o *Options) { o.Swaps = 0 },
		"too many":     func(o *Options) { o.Swaps = 5000 },
		"no clients":   func(o *Options) { o.Clients = 0 },
		"no traefik":   func(o *Options) { o.TraefikBin = "" },
		"no scenario":  func(o *Options) { o.Scenarios = nil },
		"no strategy":  func(o *Options) { o.Strategies = nil },
		"no directory": func(o *Options) { o.OutDir = "" },
	} {
		o := ok
		mutate(&o)
		assert.Error(t, o.validate(), name)
	}
}
