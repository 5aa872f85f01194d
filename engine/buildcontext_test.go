package engine

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contextDir writes files (name -> content; a name ending in "/" is a
// directory) under a new directory.
func contextDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// tarEntries returns the names in the context's tar stream, and the
// content of each regular file.
func tarEntries(t *testing.T, bc *buildContext) ([]string, map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, bc.writeTar(&buf))
	tr := tar.NewReader(&buf)
	var names []string
	contents := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
		assert.Zero(t, hdr.Uid, hdr.Name)
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			contents[hdr.Name] = string(b)
		}
	}
	sort.Strings(names)
	return names, contents
}

func TestBuildContextHonoursDockerignore(t *testing.T) {
	dir := contextDir(t, map[string]string{
		"Dockerfile":             "FROM scratch\n",
		".dockerignore":          "# comment\nsecret.txt\n*.log\n!keep.log\nnode_modules\ndocs/**/*.md\n/Dockerfile\nbuild\n!build/out/app\n",
		"app.go":                 "package main",
		"secret.txt":             "hunter2",
		"debug.log":              "x",
		"keep.log":               "kept",
		"node_modules/a/b.js":    "x",
		"docs/guide/intro.md":    "x",
		"docs/guide/diagram.png": "png",
		"build/tmp/cache":        "x",
		"build/out/app":          "binary",
		"sub/secret.txt":         "not at the root, so kept",
		"empty/":                 "",
	})
	bc, err := newBuildContext(dir, "")
	require.NoError(t, err)
	assert.Equal(t, "Dockerfile", bc.dockerfile)
	names, contents := tarEntries(t, bc)
	assert.Equal(t, []string{
		".dockerignore",
		"Dockerfile", // excluded by the file, sent anyway: the Engine needs it
		"app.go",
		"build/out/app", // re-included inside an excluded directory
		"docs/",
		"docs/guide/",
		"docs/guide/diagram.png",
		"empty/",
		"keep.log",
		"sub/",
		"sub/secret.txt",
	}, names)
	assert.Equal(t, "binary", contents["build/out/app"])
	assert.NotContains(t, contents, "secret.txt")
}

func TestBuildContextWithoutDockerignore(t *testing.T) {
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM scratch\n", "a/b": "x"})
	require.NoError(t, os.Symlink("a/b", filepath.Join(dir, "link")))
	bc, err := newBuildContext(dir, "")
	require.NoError(t, err)
	names, _ := tarEntries(t, bc)
	assert.Equal(t, []string{"Dockerfile", "a/", "a/b", "link"}, names)
}

func TestBuildContextDockerfileFlag(t *testing.T) {
	dir := contextDir(t, map[string]string{"deploy/app.Dockerfile": "FROM scratch\n", "x": "x", ".dockerignore": "deploy\n"})

	t.Run("inside the context, relative to the working directory", func(t *testing.T) {
		t.Chdir(dir)
		bc, err := newBuildContext(".", "deploy/app.Dockerfile")
		require.NoError(t, err)
		assert.Equal(t, "deploy/app.Dockerfile", bc.dockerfile)
		names, _ := tarEntries(t, bc)
		assert.Contains(t, names, "deploy/app.Dockerfile", "sent although .dockerignore excludes its directory")
	})

	t.Run("outside the context", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "Dockerfile.prod")
		require.NoError(t, os.WriteFile(outside, []byte("FROM scratch\nLABEL x=y\n"), 0o644))
		bc, err := newBuildContext(dir, outside)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(bc.dockerfile, ".dockerfile."), bc.dockerfile)
		_, contents := tarEntries(t, bc)
		assert.Equal(t, "FROM scratch\nLABEL x=y\n", contents[bc.dockerfile])
	})

	t.Run("missing", func(t *testing.T) {
		_, err := newBuildContext(dir, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no Dockerfile")
	})
}

func TestBuildContextNotADirectory(t *testing.T) {
	dir := contextDir(t, map[string]string{"file": "x"})
	_, err := newBuildContext(filepath.Join(dir, "file"), "")
	assert.ErrorContains(t, err, "is not a directory")
	_, err = newBuildContext(filepath.Join(dir, "nope"), "")
	assert.Error(t, err)
}
