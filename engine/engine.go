// Package engine is dswap's view of the Docker Engine: the few operations a
// swap needs, returning dswap's own types rather than the SDK's JSON shapes.
//
// One Engine is made per process (in cmd) and handed to whoever needs it;
// callers declare the narrow interface they use so unit tests can fake it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// ErrNotFound is returned (wrapped) when a container or image does not exist.
var ErrNotFound = errors.New("not found")

// Engine talks to one Docker Engine.
type Engine struct {
	api *client.Client
	// APIVersion is the Engine API version negotiated with the daemon.
	APIVersion string
	// ServerVersion is the daemon's version, for messages and reports.
	ServerVersion string
}

// New connects to the Engine named by the environment (DOCKER_HOST and
// friends, as the docker CLI reads them) and negotiates the API version down
// to what the daemon speaks, so a 20.10 daemon (API 1.41) works.
func New(ctx context.Context) (*Engine, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client: %w", err)
	}
	version, err := api.ServerVersion(ctx)
	if err != nil {
		_ = api.Close()
		host := os.Getenv("DOCKER_HOST")
		if host == "" {
			host = client.DefaultDockerHost
		}
		return nil, fmt.Errorf("cannot reach the Docker Engine at %s: %w; check that the daemon is running and that DOCKER_HOST points at it", host, err)
	}
	return &Engine{api: api, APIVersion: api.ClientVersion(), ServerVersion: version.Version}, nil
}

// Close releases the client's connections.
func (e *Engine) Close() error { return e.api.Close() }

// notFound converts the SDK's not-found errors into ErrNotFound so callers
// can branch with errors.Is without importing the SDK.
func notFound(err error, what string) error {
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) {
		err = notFoundError{err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// notFoundError keeps the daemon's message while matching ErrNotFound.
type notFoundError struct{ err error }

func (e notFoundError) Error() string        { return e.err.Error() }
func (e notFoundError) Unwrap() error        { return e.err }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
