package swap

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

// composeRequest is a request from a compose file whose labels route
// web.example instead of web.test, drop the old "legacy" label, and set its
// own healthcheck; its config hash is recorded on the new containers.
func composeRequest(w *world) (Request, *[]string) {
	var asked []string
	return Request{
		Image:   "myapp:v2",
		Service: "shop/web",
		Labels: map[string]string{
			"traefik.enable":                "false",
			"traefik.http.routers.web.rule": "Host(`web.example`)",
			"from.file":                     "yes",
		},
		Healthcheck: &engine.Healthcheck{Test: []string{"CMD", "/app", "health", "--deep"}, Interval: 2 * time.Second, Retries: 5},
		DefinitionLabels: func(_ context.Context, like *engine.Container, img *engine.Image) (map[string]string, error) {
			asked = append(asked, like.Name+" "+img.ID)
			return map[string]string{"com.docker.compose.config-hash": "hash-of-file-v2"}, nil
		},
	}, &asked
}

func TestUpAppliesTheComposeDefinition(t *testing.T) {
	w := replicaWorld(t, 2)
	for _, c := range w.containers {
		c.Labels["legacy"] = "old"
		c.Labels["com.docker.compose.config-hash"] = "hash-of-file-v1"
		c.Labels["com.docker.compose.image"] = "sha256:myapp:v1"
	}
	req, asked := composeRequest(w)
	_, err := w.swapper().Up(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-web-2 sha256:myapp:v2"}, *asked, "asked once, with the template and the new image")

	for _, name := range []string{"id-shop-web-3", "id-shop-web-4"} {
		got := w.containers[name].Labels
		assert.Equal(t, "Host(`web.example`)", got["traefik.http.routers.web.rule"], "the file's labels")
		assert.Equal(t, "yes", got["from.file"])
		assert.NotContains(t, got, "legacy", "a label the file no longer has is gone")
		assert.NotContains(t, got, "dswap.drain", "so is one the old containers had and the file does not")
		assert.Equal(t, "shop", got["com.docker.compose.project"], "compose's identity carries over")
		assert.Equal(t, "hash-of-file-v2", got["com.docker.compose.config-hash"], "the file's config hash")
		assert.Equal(t, "sha256:myapp:v2", got["com.docker.compose.image"], "the image the container runs")
		assert.Equal(t, "web", got["dswap.service"])
	}
	assert.Contains(t, w.routes["shop_web"], "web.example", "the route follows the file's labels")
	assert.NotContains(t, w.routes["shop_web"], "web.test")
}

func TestRollbackDoesNotRecordTheNewDefinition(t *testing.T) {
	w := replicaWorld(t, 3)
	for _, c := range w.containers {
		c.Labels["com.docker.compose.config-hash"] = "hash-of-file-v1"
		c.Labels["com.docker.compose.image"] = "sha256:myapp:v1"
	}
	failSecondBatch(w)
	req, _ := composeRequest(w)
	_, err := w.swapper().Up(context.Background(), req)
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	back := w.containers["id-shop-web-6"]
	require.NotNil(t, back)
	assert.Equal(t, "myapp:v1", back.Image)
	assert.Equal(t, "hash-of-file-v1", back.Labels["com.docker.compose.config-hash"], "the rolled-back container is like the old ones")
	assert.Equal(t, "sha256:myapp:v1", back.Labels["com.docker.compose.image"])
	assert.Equal(t, "Host(`web.test`)", back.Labels["traefik.http.routers.web.rule"])
}

func TestImageSwapOfAComposeServiceKeepsItsImageLabelTrue(t *testing.T) {
	w := replicaWorld(t, 1)
	w.containers["id-shop-web-1"].Labels["com.docker.compose.image"] = "sha256:myapp:v1"
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web"})
	require.NoError(t, err)
	got := w.containers["id-shop-web-2"].Labels
	assert.Equal(t, "sha256:myapp:v2", got["com.docker.compose.image"])
	assert.Equal(t, "5s", got["dswap.drain"], "without a definition the old labels carry over")
}

func TestDefinitionApply(t *testing.T) {
	spec := engine.FromImage("myapp:v2", "edge")
	spec.Labels = map[string]string{"com.docker.compose.service": "web", "old": "x"}
	var nilDef *definition
	nilDef.apply(spec)
	assert.Equal(t, "x", spec.Labels["old"], "no definition, no change")

	(&definition{healthcheck: &engine.Healthcheck{Test: []string{"CMD", "/app", "health"}}}).apply(spec)
	set, _ := spec.HasHealthcheck()
	assert.True(t, set)
	assert.Equal(t, "x", spec.Labels["old"], "labels are kept when the definition has none")

	(&definition{labels: map[string]string{"new": "y"}, healthcheck: &engine.Healthcheck{}, recorded: map[string]string{"com.docker.compose.config-hash": "h"}}).apply(spec)
	set, disabled := spec.HasHealthcheck()
	assert.False(t, set, "an empty test leaves the HEALTHCHECK to the image")
	assert.False(t, disabled)
	assert.Equal(t, map[string]string{"com.docker.compose.service": "web", "new": "y", "com.docker.compose.config-hash": "h"}, spec.Labels)
}

func TestComposeServiceWithoutContainersSaysToStartIt(t *testing.T) {
	_, err := FindService([]*engine.Container{ctr("shop-db-1", "postgres:16", inCompose("shop", "db", "1"))}, "shop/web", "myapp:v2")
	require.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "docker compose -p shop up -d web")
}
