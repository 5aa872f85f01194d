package lab

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestHtpasswdLine(t *testing.T) {
	line, err := htpasswdLine("alice", "s3cret")
	require.NoError(t, err)
	user, hash, ok := strings.Cut(strings.TrimSpace(line), ":")
	require.True(t, ok)
	assert.Equal(t, "alice", user)
	assert.True(t, strings.HasPrefix(hash, "$2"), "bcrypt, the only hash the registry takes")
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")))
	assert.NotContains(t, line, "s3cret")
}

// TestRegistryOnEngine starts the registry, pushes an app image with the
// login and checks that the Engine can pull it with the login only; Close
// leaves nothing behind.
func TestRegistryOnEngine(t *testing.T) {
	docker := requireDocker(t)
	bin := RegistryBinFromEnv()
	if bin == "" {
		unavailable(t, "no registry binary: run scripts/tools.sh and set %s", RegistryBinEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l := newEngineOnlyLab(t, ctx, docker)
	checker := requireDocker(t)
	defer checker.Close()

	src := l.Prefix + "-app:v1"
	require.NoError(t, l.BuildApp(ctx, AppImage{Tag: src, Version: "v1"}))
	r, err := l.StartRegistry(ctx, RegistryOptions{Bin: bin})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(r.Host, "127.0.0.1:"), r.Host)

	ref := r.Ref("app", "v1")
	digest, err := r.Push(ctx, src, ref)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(digest, "sha256:"), digest)
	_, err = docker.ImageInspect(ctx, ref)
	assert.True(t, isNotFound(err), "Push removes the local tag again: %v", err)

	rc, err := docker.ImagePull(ctx, ref, image.PullOptions{})
	if err == nil {
		rc.Close()
	}
	require.Error(t, err, "no login, no pull")
	auth, err := r.authHeader()
	require.NoError(t, err)
	rc, err = docker.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, rc)
	rc.Close()
	inspect, err := docker.ImageInspect(ctx, ref)
	require.NoError(t, err)
	assert.Contains(t, inspect.RepoDigests, r.Host+"/app@"+digest)
	_, _ = docker.ImageRemove(ctx, ref, image.RemoveOptions{})

	require.NoError(t, r.Close(ctx))
	require.NoError(t, r.Close(ctx), "Close twice is fine")
	require.NoError(t, l.Close(ctx))
	assertNothingLeft(t, checker, l.Prefix, []string{src, r.image}, "")
}
