package swap

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
)

func TestFindService(t *testing.T) {
	all := []*engine.Container{
		ctr("web", "myapp:v1", createdAt(10)),
		ctr("web-2", "myapp:v1", createdAt(20)),
		ctr("web-old", "myapp:v0", stopped(), createdAt(5)),
		ctr("db", "postgres:16"),
		ctr("api", "registry.example.com/acme/api:v3", withLabel("dswap.service", "backend")),
		ctr("shop-web-1", "shop:v1", inCompose("shop", "front", "1")),
		ctr("blog-front-1", "blog:v1", inCompose("blog", "front", "1")),
		ctr("shop_api.1.x7", "api:v1", withLabel("com.docker.swarm.task.id", "x7"), withLabel("com.docker.swarm.service.name", "shop_api")),
	}
	tests := []struct {
		name        string
		service     string
		image       string
		wantName    string
		wantRunning []string
		wantStopped []string
		wantErr     string
	}{
		{name: "by image repository", image: "myapp:v2", wantName: "myapp", wantRunning: []string{"web", "web-2"}, wantStopped: []string{"web-old"}},
		{name: "by dswap.service label", service: "backend", image: "x:1", wantName: "backend", wantRunning: []string{"api"}},
		{name: "by image repository with a dswap.service label", image: "registry.example.com/acme/api:v4", wantName: "backend", wantRunning: []string{"api"}},
		{name: "compose service by project/service", service: "shop/front", image: "shop:v2", wantName: "front", wantRunning: []string{"shop-web-1"}},
		{name: "compose service in two projects is ambiguous", service: "front", image: "x:1", wantErr: "matches several services:\n  shop/front: shop-web-1 (shop:v1, running)\n  blog/front: blog-front-1 (blog:v1, running)"},
		{name: "unknown image", image: "nothing:v1", wantErr: `no container belongs to image nothing:v1 (repository "nothing")`},
		{name: "a named service with no container starts fresh", service: "newsvc", image: "new:v1", wantName: "newsvc"},
		{name: "a Swarm task's container is no member", image: "api:v2", wantErr: `no container belongs to image api:v2 (repository "api")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := FindService(all, tt.service, tt.image)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.ErrorIs(t, err, ErrBadInput)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, svc.Name)
			assert.Equal(t, tt.wantRunning, names(svc.Running))
			assert.Equal(t, tt.wantStopped, names(svc.Stopped))
		})
	}
}

func TestServiceKeyAndTemplate(t *testing.T) {
	svc := &Service{Name: "web"}
	assert.Equal(t, "web", svc.Key())
	assert.Nil(t, svc.Template())
	svc.Stopped = []*engine.Container{ctr("a", "x"), ctr("b", "x")}
	assert.Equal(t, "b", svc.Template().Name, "newest stopped container when nothing runs")
	svc.Running = []*engine.Container{ctr("c", "x")}
	assert.Equal(t, "c", svc.Template().Name)
}

func TestRepository(t *testing.T) {
	assert.Equal(t, "myapp", Repository("myapp:v2"))
	assert.Equal(t, "myapp", Repository("docker.io/library/myapp:v2"))
	assert.Equal(t, "ghcr.io/acme/app", Repository("ghcr.io/acme/app@sha256:"+repeat("a", 64)))
	assert.Equal(t, "localhost:5000/app", Repository("localhost:5000/app:1"))
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestServiceKeyIsOneToOne(t *testing.T) {
	svc := func(project, name string) *Service {
		s := &Service{Name: name}
		if project != "" {
			s.Compose = &compose.Identity{Project: project, Service: name}
		}
		return s
	}
	// Names of letters, digits and dashes keep the file names earlier
	// versions gave them; compose keys join project and name with '_'.
	assert.Equal(t, "web", svc("", "web").Key())
	assert.Equal(t, "my-app", svc("", "my-app").Key())
	assert.Equal(t, "shop_web", svc("shop", "web").Key())
	assert.Equal(t, "shop_api-web", svc("shop", "api-web").Key())
	assert.Equal(t, "my.5fshop_web", svc("my_shop", "web").Key())
	assert.Equal(t, "caf.c3.a9", svc("", "café").Key())

	// Pairs that used to share a route file and a lock.
	distinct := [][2]*Service{
		{svc("shop-api", "web"), svc("shop", "api-web")},
		{svc("", "café"), svc("", "caf_")},
		{svc("", "shop-web"), svc("shop", "web")},
		{svc("", "a/b"), svc("a", "b")},
		{svc("", "a.b"), svc("", "a_b")},
		{svc("", "a.2db"), svc("", "a-b")},
		{svc("", "a_b"), svc("a", "b")},
		{svc("", "a.5fb"), svc("", "a_b")},
	}
	for _, pair := range distinct {
		assert.NotEqual(t, pair[0].Key(), pair[1].Key(), "%s and %s", pair[0].Ref(), pair[1].Ref())
	}
	for _, s := range []*Service{svc("", "café"), svc("x", "ü ber"), svc("", "a/b:c")} {
		assert.Regexp(t, `^[A-Za-z0-9_.-]+$`, s.Key(), "a key is a file name as it is")
	}
}

func FuzzServiceKey(f *testing.F) {
	for _, seed := range [][2]string{{"", "web"}, {"shop", "web"}, {"shop-api", "web"}, {"shop", "api-web"}, {"", "café"}, {"", "caf_"}, {"", "a.2db"}} {
		f.Add(seed[0], seed[1], "", "x")
	}
	f.Fuzz(func(t *testing.T, p1, n1, p2, n2 string) {
		a, b := &Service{Name: n1}, &Service{Name: n2}
		if p1 != "" {
			a.Compose = &compose.Identity{Project: p1, Service: n1}
		}
		if p2 != "" {
			b.Compose = &compose.Identity{Project: p2, Service: n2}
		}
		if a.Key() == b.Key() && (p1 != p2 || n1 != n2) {
			t.Fatalf("%q/%q and %q/%q share key %q", p1, n1, p2, n2, a.Key())
		}
	})
}

func TestSyncMovesALegacyRouteFile(t *testing.T) {
	w := newWorld()
	w.containers["id-web"].Labels["dswap.service"] = "my_app"
	// What dswap wrote before keys were one to one: dswap-my_app.yml, with
	// no owner line.
	delete(w.routes, "web")
	legacy := strings.Replace(routeFor(w.containers["id-web"]), "# dswap-owner: \"web\"\n", "", 1)
	w.routes["my_app"] = strings.Replace(legacy, `service "web"`, `service "my_app"`, 1)
	_, err := w.swapper().Sync(context.Background(), "my_app", Overrides{})
	require.NoError(t, err)
	assert.NotContains(t, w.routes, "my_app", "the legacy file is gone")
	assert.Contains(t, w.routes["my.5fapp"], `# dswap-owner: "my_app"`)
}
