package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// TestCommandsLeaveTheSameNamedServiceOfAnotherTraefikAlone: two stacks
// on one Engine, each with its Traefik, routes directory and dswap, run a
// service of the same name. dswap finds services by label on the whole
// Engine; a sync or swap through one Traefik must neither stop, copy nor
// route the other's container (found by the torture run: `dswap sync NAME`
// stopped it as "running but not routed").
func TestCommandsLeaveTheSameNamedServiceOfAnotherTraefikAlone(t *testing.T) {
	a := startService(t, "twin", serviceOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b, err := lab.New(ctx, lab.Options{Prefix: suite.lab.Prefix + "-twin", TraefikBin: lab.TraefikBinFromEnv()})
	require.NoError(t, err)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = b.Close(cctx)
	})
	bID, err := b.RunApp(ctx, lab.App{Name: b.Prefix + "-" + a.name, Image: image(imgV1), Labels: map[string]string{
		"traefik.enable": "false",
		"traefik.http.routers." + a.name + ".rule":                      "Host(`" + a.host + "`)",
		"traefik.http.routers." + a.name + ".entrypoints":               "web",
		"traefik.http.services." + a.name + ".loadbalancer.server.port": "8080",
		"dswap.service": a.name,
	}})
	require.NoError(t, err)
	require.NoError(t, b.WaitHealthy(ctx, bID, 30*time.Second))
	envB := []string{"DSWAP_ROUTES_DIR=" + b.RoutesDir, "DSWAP_TRAEFIK_API=" + b.APIURL, "DSWAP_TRAEFIK_CONTAINER=" + b.TraefikName}

	running := func(id string) bool {
		in, err := suite.lab.Docker.ContainerInspect(ctx, id)
		return err == nil && in.State != nil && in.State.Running
	}
	serves := func(l *lab.Lab, version string) {
		t.Helper()
		got, err := lab.ProbeVersion(ctx, l.WebURL+"/", a.host)
		require.NoError(t, err)
		assert.Equal(t, version, got, "through %s", l.TraefikName)
	}

	run := runDswapEnv(t, envB, "sync", a.name)
	require.Equal(t, 0, run.code, "sync through B:\n%s%s", run.stdout, run.stderr)
	assert.True(t, running(a.id), "sync through B left A's container running")
	run = runDswap(t, "sync", a.name)
	require.Equal(t, 0, run.code, "sync through A:\n%s%s", run.stdout, run.stderr)
	assert.True(t, running(bID), "sync through A left B's container running")
	serves(suite.lab, "v1")
	serves(b, "v1")

	run = runDswap(t, "up", image(imgV2), "--service", a.name)
	require.Equal(t, 0, run.code, "up through A:\n%s%s", run.stdout, run.stderr)
	assert.True(t, running(bID), "a swap through A left B's container running")
	serves(suite.lab, "v2")
	serves(b, "v1")
	onlyOne := func(what string) {
		t.Helper()
		cs := a.containers(t) // A's lab only: B's carry B's lab label
		require.Len(t, cs, 1, what)
		assert.Equal(t, "running", cs[0].State, what)
		assert.Equal(t, image(imgV2), cs[0].Image, what)
	}
	onlyOne("after the swap through A, A's new container alone is left of A's")

	run = runDswapEnv(t, envB, "up", image(imgV2), "--service", a.name)
	require.Equal(t, 0, run.code, "up through B:\n%s%s", run.stdout, run.stderr)
	assert.False(t, running(bID), "B swapped its own container")
	serves(suite.lab, "v2")
	serves(b, "v2")
	onlyOne("a swap through B touched nothing of A's")
}
