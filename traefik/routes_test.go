package traefik

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
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

// TestOthersReadsWhatTraefikReads: Traefik's file provider loads every
// *.yml, *.yaml and *.toml file (any letter case) of the directory and of
// its subdirectories, hidden ones included; dswap must see the same files to
// find a name another file already defines.
func TestOthersReadsWhatTraefikReads(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	require.NoError(t, err)
	write := func(rel, content string) {
		p := filepath.Join(d.Path, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	require.NoError(t, d.Write("web", []byte("http: {}\n")))
	write("auth.toml", "toml")
	write("hand.YAML", "yaml")
	write("sub/deeper/mw.yml", "deep")
	write(".hidden/x.yml", "hidden")
	write("notes.txt", "not read")
	write("sub/readme.md", "not read")
	// What dswap keeps in its staging directory is never configuration.
	write(".dswap/dswap-web.yml.123.tmp", "staged")
	write(".dswap/web.lock", "lock")
	write(".dswap/history-web.jsonl", "history")

	others, err := d.Others("web")
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{
		"auth.toml":         []byte("toml"),
		"hand.YAML":         []byte("yaml"),
		"sub/deeper/mw.yml": []byte("deep"),
		".hidden/x.yml":     []byte("hidden"),
	}, others)
}

func TestWriteRefusesAnotherServicesFile(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	require.NoError(t, err)
	mine := []byte("# dswap-owner: \"shop/api-web\"\nhttp: {}\n")
	require.NoError(t, d.Write("k", mine))
	require.NoError(t, d.Write("k", mine), "its owner rewrites it")

	err = d.Write("k", []byte("# dswap-owner: \"shop-api/web\"\nhttp: {}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `belongs to service "shop/api-web"`)
	got, _, err := d.Read("k")
	require.NoError(t, err)
	assert.Equal(t, mine, got, "left as it was")

	// A file from before owners were recorded is taken over.
	require.NoError(t, os.WriteFile(d.FileFor("old"), []byte("# Written by dswap for service \"old\". Do not edit by hand:\nhttp: {}\n"), 0o644))
	require.NoError(t, d.Write("old", mine))
}

func TestWriteSaysWhatToDoWhenTheDirectoryIsReadOnly(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root writes into a read-only directory anyway; the torture run's routes-readonly fault runs dswap as another user")
	}
	d, err := OpenDir(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.Chmod(d.Path, 0o555))
	t.Cleanup(func() { _ = os.Chmod(d.Path, 0o755) })
	err = d.Write("web", []byte("http: {}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not writable by the user dswap runs as")
	entries, _ := os.ReadDir(filepath.Join(d.Path, stagingDir))
	assert.Empty(t, entries, "no temporary file is left")
}

func TestHintNamesTheFullFilesystem(t *testing.T) {
	d := &Dir{Path: "/routes"}
	err := d.hint(fmt.Errorf("writing route file for web: %w", &os.PathError{Op: "write", Path: "/routes/.dswap/x.tmp", Err: syscall.ENOSPC}))
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "the filesystem of the routes directory /routes is full: free space on it")
	err = d.hint(&os.PathError{Op: "rename", Path: "/routes/x", Err: syscall.EROFS})
	assert.Contains(t, err.Error(), "read-only filesystem")
}
