package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

func TestKeeperLockSaysWhetherAKeeperRuns(t *testing.T) {
	ctx := context.Background()
	dir, err := traefik.OpenDir(t.TempDir())
	require.NoError(t, err)

	_, running, err := runningKeeper(ctx, dir)
	require.NoError(t, err)
	assert.False(t, running, "no keeper ever ran")

	held, err := holdKeeperLock(ctx, dir, "dswap keep")
	require.NoError(t, err)
	holder, running, err := runningKeeper(ctx, dir)
	require.NoError(t, err)
	assert.True(t, running)
	assert.Equal(t, "dswap keep", holder.Command)

	_, err = holdKeeperLock(ctx, dir, "dswap serve (route keeper)")
	require.Error(t, err, "a second keeper of the same directory")
	assert.Contains(t, err.Error(), "another route keeper already keeps")
	assert.Contains(t, err.Error(), "dswap keep")

	held.Release()
	_, running, err = runningKeeper(ctx, dir)
	require.NoError(t, err)
	assert.False(t, running, "the keeper stopped")
}

func TestStatusWarnsOnlyWhenIPRoutesHaveNoKeeper(t *testing.T) {
	ctx := context.Background()
	dir, err := traefik.OpenDir(t.TempDir())
	require.NoError(t, err)
	byName := []swap.Status{{Service: "web", Routed: []string{"web-1"}}}
	byIP := []swap.Status{{Service: "web", Routed: []string{"web-1"}}, {Service: "api", Routed: []string{"172.18.0.5"}}}

	var out bytes.Buffer
	warnNoKeeper(ctx, dir, byName, &out)
	assert.Empty(t, out.String(), "names survive restarts")

	warnNoKeeper(ctx, dir, byIP, &out)
	assert.Contains(t, out.String(), "routes of api name container IPs and no route keeper runs")

	held, err := holdKeeperLock(ctx, dir, "dswap keep")
	require.NoError(t, err)
	defer held.Release()
	out.Reset()
	warnNoKeeper(ctx, dir, byIP, &out)
	assert.Empty(t, out.String(), "a keeper runs")
}

func TestChooseTraefikSaysWhichAndWhy(t *testing.T) {
	inst := &traefik.Instance{Container: &engine.Container{Name: "proxy"}}
	nets := swap.Addressing{Mode: "auto", TraefikNetworks: []string{"front"}}
	host := swap.Addressing{Mode: "auto"}
	tests := []struct {
		name                    string
		inst                    *traefik.Instance
		named                   bool
		routesDir, api          string
		addressing              swap.Addressing
		container, why, address string
	}{
		{"both given", nil, false, "/etc/traefik/dynamic", "http://127.0.0.1:8080", host, "", "both were given, so dswap looked for no Traefik container", "by IP, since Traefik is not a container"},
		{"none found", nil, false, "", "", host, "", "no Traefik container found", "by IP"},
		{"found", inst, false, "", "", nets, "proxy", "the only running container", "by container name on Traefik's networks (front)"},
		{"named", inst, true, "/routes", "", nets, "proxy", "--traefik-container", "by container name"},
		{"ip asked", inst, true, "", "", swap.Addressing{Mode: "ip", TraefikNetworks: []string{"front"}}, "proxy", "--traefik-container", "by IP, as --address ip says"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chooseTraefik(tt.inst, tt.named, tt.routesDir, tt.api, tt.addressing)
			assert.Equal(t, tt.container, c.Container)
			assert.Contains(t, c.Traefik, tt.why)
			assert.Contains(t, c.Addressing, tt.address)
		})
	}
}
