package compose

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestWithImageCopiesTheFileThatSetsTheImage(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "compose.yaml")
	override := filepath.Join(dir, "prod.yaml")
	require.NoError(t, os.WriteFile(base, []byte("services:\n  web:\n    image: ${APP_IMAGE}\n    x-dswap:\n      drain: 3s\n"), 0o644))
	require.NoError(t, os.WriteFile(override, []byte("services:\n  web:\n    labels: {a: b}\n"), 0o644))

	paths, cleanup, err := withImage([]string{base, override}, "web", "app:v2")
	require.NoError(t, err)
	require.Len(t, paths, 2)
	assert.Equal(t, override, paths[1], "the file that does not set the image is used as it is")
	assert.NotEqual(t, base, paths[0])
	b, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	var doc map[string]map[string]map[string]any
	require.NoError(t, yaml.Unmarshal(b, &doc))
	assert.Equal(t, "app:v2", doc["services"]["web"]["image"])
	assert.Equal(t, map[string]any{"drain": "3s"}, doc["services"]["web"]["x-dswap"], "everything else is kept")

	cleanup()
	_, err = os.Stat(paths[0])
	assert.True(t, os.IsNotExist(err), "the copy is removed")

	_, _, err = withImage([]string{override}, "web", "app:v2")
	assert.ErrorContains(t, err, "no compose file sets services.web.image")
}

func TestIsV1(t *testing.T) {
	assert.True(t, IsV1(map[string]string{VersionLabel: "1.29.2"}))
	assert.False(t, IsV1(map[string]string{VersionLabel: "2.40.3"}))
	assert.False(t, IsV1(map[string]string{VersionLabel: ""}), "compose v2 built without its version stamp")
}
