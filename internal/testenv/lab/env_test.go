package lab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+modulePath+"\n\ngo 1.25\n"), 0o644))
	nested := filepath.Join(root, "a", "b")
	require.NoError(t, os.MkdirAll(nested, 0o755))
	// A nested module of another name must not be taken for the root.
	require.NoError(t, os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o644))

	got, ok := findModuleRoot(nested)
	require.True(t, ok)
	assert.Equal(t, root, got)

	_, ok = findModuleRoot(t.TempDir())
	assert.False(t, ok)
}

func TestModuleRootOfThisRepository(t *testing.T) {
	root, err := moduleRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "internal", "testenv", "lab", "env.go"))
}

func TestTraefikBinFromEnv(t *testing.T) {
	t.Setenv(TraefikBinEnv, "/somewhere/traefik")
	assert.Equal(t, "/somewhere/traefik", TraefikBinFromEnv(), "the variable wins even if the file is missing, so New can name it")

	t.Setenv(TraefikBinEnv, "")
	root, err := moduleRoot()
	require.NoError(t, err)
	cached := filepath.Join(root, ".cache", "bin", "traefik")
	if _, err := os.Stat(cached); err == nil {
		assert.Equal(t, cached, TraefikBinFromEnv())
	} else {
		assert.Empty(t, TraefikBinFromEnv())
	}
}
