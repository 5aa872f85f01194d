// Package credentials finds the login for a container registry the way the
// docker CLI does: an explicit credential given to dswap first, else the
// docker config file (~/.docker/config.json, or $DOCKER_CONFIG/config.json)
// with its credHelpers, credsStore and auths, where helpers are the
// docker-credential-* programs on PATH spoken to with their "get" protocol.
//
// dswap reads credentials only to hand them to the Engine for one pull. A
// Credential never prints its secrets; what is reported to the user is the
// Source a credential came from.
package credentials

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// DockerHubKey is the key under which the docker CLI stores Docker Hub's
// login, in auths and when asking a credential helper.
const DockerHubKey = "https://index.docker.io/v1/"

// dockerHubHost is the normalised host name of Docker Hub.
const dockerHubHost = "index.docker.io"

// Registry is the registry an image reference points at.
type Registry struct {
	// Host is the registry as the reference names it: "docker.io" for
	// Docker Hub, else host[:port], e.g. "ghcr.io" or "127.0.0.1:5000".
	Host string
	// Key is what the docker config file and credential helpers are asked
	// for: DockerHubKey for Docker Hub, else Host.
	Key string
}

// RegistryOf returns the registry of an image reference such as "myapp:v2"
// (Docker Hub), "ghcr.io/acme/app@sha256:..." or "127.0.0.1:5000/app".
func RegistryOf(ref string) (Registry, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Registry{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	host := reference.Domain(named)
	if isDockerHub(host) {
		return Registry{Host: "docker.io", Key: DockerHubKey}, nil
	}
	return Registry{Host: host, Key: host}, nil
}

// isDockerHub reports whether host is one of Docker Hub's names.
func isDockerHub(host string) bool {
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// hostname reduces a config file key to the host it stands for, as the
// docker CLI does: "https://index.docker.io/v1/" and "docker.io" both
// become "index.docker.io", "http://10.0.0.1:5000/v2/" becomes
// "10.0.0.1:5000". Keys written by old CLIs carry a scheme and a path.
func hostname(key string) string {
	h := key
	if rest, ok := strings.CutPrefix(h, "http://"); ok {
		h = rest
	} else if rest, ok := strings.CutPrefix(h, "https://"); ok {
		h = rest
	}
	h, _, _ = strings.Cut(h, "/")
	h = strings.ToLower(h)
	if isDockerHub(h) {
		return dockerHubHost
	}
	return h
}
