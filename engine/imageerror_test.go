package engine

import (
	"errors"
	"fmt"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/stretchr/testify/assert"
)

func TestClassifyPull(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want ImageProblem
	}{
		// What a 20.10 Engine answers, as measured against a registry with
		// htpasswd auth on 127.0.0.1.
		{errors.New(`Error response from daemon: Head "http://127.0.0.1:5999/v2/app/manifests/v1": no basic auth credentials`), ImageUnauthorized},
		{errors.New("Error response from daemon: unauthorized: authentication required"), ImageUnauthorized},
		{fmt.Errorf("wrapped: %w", cerrdefs.ErrNotFound.WithMessage("manifest for 127.0.0.1:5999/app:nope not found: manifest unknown: manifest unknown")), ImageNotFound},
		{errors.New("manifest for 127.0.0.1:5999/app:nope not found: manifest unknown: manifest unknown"), ImageNotFound},
		{errors.New(`Error response from daemon: Get "http://127.0.0.1:5998/v2/": dial tcp 127.0.0.1:5998: connect: connection refused`), ImageUnreachable},
		{errors.New(`Get "https://registry.example.invalid/v2/": dial tcp: lookup registry.example.invalid: no such host`), ImageUnreachable},
		{errors.New(`Get "https://10.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client`), ImageUnreachable},
		// Docker Hub, and newer Engines.
		{errors.New("pull access denied for nosuch, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"), ImageUnauthorized},
		{cerrdefs.ErrUnauthenticated.WithMessage("whatever"), ImageUnauthorized},
		{cerrdefs.ErrPermissionDenied.WithMessage("whatever"), ImageUnauthorized},
		{errors.New("no matching manifest for linux/amd64 in the manifest list entries"), ImageWrongPlatform},
		{errors.New("image with reference app:v2 was found but does not match the specified platform: wanted linux/amd64, actual: linux/arm64"), ImageWrongPlatform},
		{errors.New("write /var/lib/docker/tmp/x: no space left on device"), 0},
	} {
		assert.Equal(t, tc.want, classifyPull(tc.err), "%v", tc.err)
	}
}

func TestImageErrorMessages(t *testing.T) {
	daemon := errors.New("unauthorized: authentication required")
	e := &ImageError{Ref: "127.0.0.1:5000/app:v2", Problem: ImageUnauthorized, Registry: "127.0.0.1:5000",
		CredentialSource: "config file /home/u/.docker/config.json auths", Err: daemon}
	assert.ErrorIs(t, e, ErrImageUnavailable)
	assert.ErrorIs(t, e, daemon)
	msg := e.Error()
	for _, want := range []string{"registry 127.0.0.1:5000", "config file /home/u/.docker/config.json auths", "unauthorized: authentication required", "docker login 127.0.0.1:5000"} {
		assert.Contains(t, msg, want)
	}
	for p := ImageNotFound; p <= ImageBuildFailed; p++ {
		e := &ImageError{Ref: "app:v2", Problem: p, Registry: "docker.io", Err: errors.New("x")}
		assert.Contains(t, e.Error(), "app:v2", p.String())
		assert.NotEqual(t, "unknown", p.String())
	}
}
