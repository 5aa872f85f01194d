package engine

import (
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
)

// ErrImageUnavailable matches every *ImageError: the image could not be
// had for a reason the user can act on, and nothing was changed.
var ErrImageUnavailable = errors.New("image unavailable")

// ImageProblem says why an image could not be had.
type ImageProblem int

const (
	ImageNotFound      ImageProblem = iota + 1 // the registry has no such repository, tag or digest
	ImageUnauthorized                          // the registry refused the login, or asked for one
	ImageUnreachable                           // the Engine could not reach the registry
	ImageWrongPlatform                         // the image has no variant for the Engine's platform
	ImageCredentials                           // dswap could not read the login (config file, helper)
	ImageNotLocal                              // --pull never and no local image
	ImageBuildFailed                           // the build of the image failed
)

var problemNames = [...]string{"", "not found", "unauthorized", "registry unreachable", "wrong platform", "credentials unreadable", "not local", "build failed"}

func (p ImageProblem) String() string {
	if p <= 0 || int(p) >= len(problemNames) {
		return "unknown"
	}
	return problemNames[p]
}

// ImageError is an image that could not be pulled or built. Its message
// says which registry and which credential source were involved (never the
// credential itself) and what to do.
type ImageError struct {
	Ref     string
	Problem ImageProblem
	// Registry is the registry's host[:port] ("docker.io" for Docker Hub).
	Registry string
	// CredentialSource says where the login came from, or "none (...)".
	CredentialSource string
	// BuildContext is the directory built from, for build failures.
	BuildContext string
	// Err is the Engine's (or the helper's) own error.
	Err error
}

func (e *ImageError) Error() string {
	switch e.Problem {
	case ImageNotFound:
		return fmt.Sprintf("pulling %s: registry %s has no such image: %v. Check the repository name and the tag or digest", e.Ref, e.Registry, e.Err)
	case ImageUnauthorized:
		return fmt.Sprintf("pulling %s: registry %s refused access: %v. Credentials tried: %s. Log in with `docker login %s`, or give dswap a login with --registry-auth-file FILE or DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD", e.Ref, e.Registry, e.Err, e.CredentialSource, e.loginHost())
	case ImageUnreachable:
		return fmt.Sprintf("pulling %s: the Docker Engine cannot reach registry %s: %v. Check the registry's address and that it is up; the Engine pulls, so it must reach it from its own host", e.Ref, e.Registry, e.Err)
	case ImageWrongPlatform:
		return fmt.Sprintf("pulling %s: the image has no variant for this Engine's platform: %v. Push a build for it (docker buildx --platform), or pull the right tag", e.Ref, e.Err)
	case ImageCredentials:
		return fmt.Sprintf("pulling %s: reading the login for registry %s: %v", e.Ref, e.Registry, e.Err)
	case ImageNotLocal:
		return fmt.Sprintf("image %s is not on this Engine and --pull is never: build or load it first, or pass --pull missing: %v", e.Ref, e.Err)
	case ImageBuildFailed:
		return fmt.Sprintf("building %s from %s failed: %v", e.Ref, e.BuildContext, e.Err)
	}
	return fmt.Sprintf("getting image %s: %v", e.Ref, e.Err)
}

func (e *ImageError) Unwrap() error { return e.Err }

// Is makes every ImageError match ErrImageUnavailable.
func (e *ImageError) Is(target error) bool { return target == ErrImageUnavailable }

// loginHost is what `docker login` takes for the registry.
func (e *ImageError) loginHost() string {
	if e.Registry == "docker.io" {
		return ""
	}
	return e.Registry
}

// classifyPull tells why a pull failed, or returns 0 when it can't tell.
// The SDK's errdefs classes come first; a 20.10 Engine, though, answers a
// refused login with HTTP 500 and passes the registry's message through,
// and failures after the pull started arrive as text in the progress
// stream, so the registry's and the Engine's well-known messages are
// recognised as well.
func classifyPull(err error) ImageProblem {
	msg := strings.ToLower(err.Error())
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("no matching manifest for", "does not match the specified platform", "image operating system", "not supported on this platform"):
		return ImageWrongPlatform
	case cerrdefs.IsUnauthorized(err), cerrdefs.IsPermissionDenied(err),
		has("unauthorized", "authentication required", "no basic auth credentials", "pull access denied", "denied: ", "incorrect username or password"):
		return ImageUnauthorized
	case cerrdefs.IsNotFound(err), has("manifest unknown", "name unknown", "not found: manifest"):
		return ImageNotFound
	case has("dial tcp", "connection refused", "no such host", "i/o timeout", "tls handshake", "server gave http response to https client", "network is unreachable", "connection reset", "client.timeout exceeded"):
		return ImageUnreachable
	}
	return 0
}
