package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

func TestSwapRequestCarriesTheCLISettings(t *testing.T) {
	d := func(s string) *time.Duration { v, _ := time.ParseDuration(s); return &v }
	cmd, no := "curl -f localhost", true
	over := swap.Overrides{Drain: d("10s"), HealthTimeout: d("1m30s"), Settle: d("5s"), FlipTimeout: d("20s"), ProbeInterval: d("0s"), Monitor: d("2m"), HealthCmd: &cmd, NoHealthcheck: &no}
	req := NewSwapRequest("myapp:v2", "web", over, "always", true, nil)
	assert.Equal(t, "10s", req.Drain)
	assert.Equal(t, "0s", req.ProbeInterval, "an explicit zero is kept: it turns probing off")
	back, err := req.Overrides()
	require.NoError(t, err)
	assert.Equal(t, over, back)
	pull, err := req.PullPolicy(engine.PullMissing)
	require.NoError(t, err)
	assert.Equal(t, engine.PullAlways, pull)

	empty := NewSwapRequest("myapp:v2", "", swap.Overrides{}, "", false, nil)
	back, err = empty.Overrides()
	require.NoError(t, err)
	assert.Equal(t, swap.Overrides{}, back, "unset stays unset, so labels and defaults apply")
	pull, _ = empty.PullPolicy(engine.PullNever)
	assert.Equal(t, engine.PullNever, pull, "the sidecar's default")
}
