package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// snapshot is what must not change when dswap refuses a command.
type snapshot struct {
	containers []lab.Container
	route      string
}

func snap(t *testing.T, svc *service) snapshot {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(suite.lab.RoutesDir, routeFileName("", svc.name)))
	cs := svc.containers(t)
	for i := range cs {
		cs[i].Status = "" // "Up 9 seconds" moves on by itself
	}
	return snapshot{containers: cs, route: string(b)}
}

// TestBadInput: each mistake gets exit code 2, a message that says what is
// wrong, and changes nothing.
func TestBadInput(t *testing.T) {
	good := startService(t, "good", serviceOpts{})
	clash := startService(t, "clash", serviceOpts{noSync: true, labels: map[string]string{
		// Uses the router name of the "good" service.
		"traefik.http.routers." + good.name + ".rule": "Host(`clash.test`)",
	}})
	badTraefik := startService(t, "badtraefik", serviceOpts{noSync: true, labels: map[string]string{
		"traefik.http.routers.badtraefik.rule":     "Host(`bt.test`)",
		"traefik.http.routers.badtraefik.priority": "high",
	}})
	badDswap := startService(t, "baddswap", serviceOpts{noSync: true, labels: map[string]string{"dswap.drain": "soon"}})
	aFile := filepath.Join(t.TempDir(), "routes.yml")
	require.NoError(t, os.WriteFile(aFile, nil, 0o644))

	for _, tc := range []struct {
		name string
		svc  *service
		env  []string
		args []string
		want []string
	}{
		{name: "unknown service", svc: good, args: []string{"up", "nothing-here:v1"},
			want: []string{"no container belongs to image nothing-here:v1", "--service"}},
		{name: "malformed traefik label", svc: badTraefik, args: []string{"up", image(imgV2), "--service", badTraefik.name},
			want: []string{"traefik.http.routers.badtraefik.priority", "high"}},
		{name: "malformed dswap label", svc: badDswap, args: []string{"up", image(imgV2), "--service", badDswap.name},
			want: []string{"dswap.drain", "soon"}},
		{name: "image that does not exist", svc: good, args: []string{"up", suite.lab.Prefix + "-app:nope", "--service", good.name, "--pull", "never"},
			want: []string{suite.lab.Prefix + "-app:nope"}},
		{name: "routes directory missing", svc: good, env: []string{"DSWAP_ROUTES_DIR=/nonexistent/routes"}, args: []string{"up", image(imgV2), "--service", good.name},
			want: []string{"routes directory /nonexistent/routes", "create it"}},
		{name: "routes directory is a file", svc: good, env: []string{"DSWAP_ROUTES_DIR=" + aFile}, args: []string{"up", image(imgV2), "--service", good.name},
			want: []string{"is a file"}},
		{name: "Traefik API unreachable", svc: good, env: []string{"DSWAP_TRAEFIK_API=http://127.0.0.1:9"}, args: []string{"up", image(imgV2), "--service", good.name},
			want: []string{"Traefik API at http://127.0.0.1:9 did not answer", "--traefik-api"}},
		{name: "routers clash with another service", svc: clash, args: []string{"sync", clash.name},
			want: []string{`router "` + good.name + `" is also defined in ` + routeFileName("", good.name)}},
		{name: "malformed flag", svc: good, args: []string{"up", image(imgV2), "--service", good.name, "--drain", "soon"},
			want: []string{"--drain"}},
		{name: "malformed variable", svc: good, env: []string{"DSWAP_DRAIN=soon"}, args: []string{"up", image(imgV2), "--service", good.name},
			want: []string{`DSWAP_DRAIN "soon" is not a duration`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snap(t, tc.svc)
			run := runDswapEnv(t, tc.env, tc.args...)
			assert.Equal(t, 2, run.code, "bad input exits 2")
			for _, w := range tc.want {
				assert.Contains(t, run.stderr, w)
			}
			after := snap(t, tc.svc)
			assert.Equal(t, before, after, "nothing changed")
		})
	}
}

// TestDockerProviderConflict: when Traefik's docker provider also routes the
// service from its labels, dswap refuses and says how to fix it.
func TestDockerProviderConflict(t *testing.T) {
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.New(ctx, lab.Options{Prefix: suite.lab.Prefix + "-dp", TraefikBin: lab.TraefikBinFromEnv(), DockerProvider: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = l.Close(cctx)
	})
	name := "exposed-" + randomHex(2)
	id, err := l.RunApp(ctx, lab.App{Name: name, Image: image(imgV1), Labels: map[string]string{
		"traefik.enable":                         "true", // the docker provider routes it too
		"traefik.http.routers." + name + ".rule": "Host(`" + name + ".test`)",
		"dswap.service":                          name,
	}})
	require.NoError(t, err)
	require.NoError(t, l.WaitHealthy(ctx, id, 30*time.Second))
	// The docker provider picks the container up once it is healthy.
	require.Eventually(t, func() bool {
		resp, err := http.Get(l.APIURL + "/api/http/routers/" + name + "@docker")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "Traefik's docker provider never routed the container")
	run := runDswapEnv(t, []string{"DSWAP_ROUTES_DIR=" + l.RoutesDir, "DSWAP_TRAEFIK_API=" + l.APIURL, "DSWAP_TRAEFIK_CONTAINER=" + l.TraefikName}, "sync", name)
	assert.Equal(t, 2, run.code)
	assert.Contains(t, run.stderr, "router "+name+"@docker")
	assert.Contains(t, run.stderr, "traefik.enable=false")
	_, err = os.Stat(filepath.Join(l.RoutesDir, routeFileName("", name)))
	assert.True(t, os.IsNotExist(err), "no route file was written")
}
