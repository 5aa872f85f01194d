package traefik

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirWriteReadRemove(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	require.NoError(t, err)

	_, ok, err := d.Read("web")
	require.NoError(t, err)
	assert.False(t, ok)

	before := time.Now().Add(-time.Second)
	require.NoError(t, d.Write("web", []byte("http: {}\n")))
	assert.True(t, d.LastChange().After(before), "writing a route file is a change Traefik sees")
	got, ok, err := d.Read("web")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "http: {}\n", string(got))
	assert.Equal(t, filepath.Join(d.Path, "dswap-web.yml"), d.FileFor("web"))

	// Nothing is left in the staging directory, and nothing but route files
	// sits in the watched directory.
	staged, err := os.ReadDir(d.StagingPath())
	require.NoError(t, err)
	assert.Empty(t, staged)
	services, err := d.Services()
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, services)

	require.NoError(t, d.Remove("web"))
	require.NoError(t, d.Remove("web"), "removing twice is fine")
	services, err = d.Services()
	require.NoError(t, err)
	assert.Empty(t, services)
}

func TestFileForSanitizesNames(t *testing.T) {
	d := &Dir{Path: "/routes"}
	assert.Equal(t, "/routes/dswap-shop-web.yml", d.FileFor("shop-web"))
	assert.Equal(t, "/routes/dswap-a_b.yml", d.FileFor("a/b"))
}

func TestOpenDirErrors(t *testing.T) {
	_, err := OpenDir("")
	assert.ErrorContains(t, err, "--routes-dir")
	_, err = OpenDir(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "create it")
	f := filepath.Join(t.TempDir(), "file.yml")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	_, err = OpenDir(f)
	assert.ErrorContains(t, err, "is a file")
}
