// Package dockercli is dswap's side of the docker CLI: the plugin protocol
// (`docker swap ...` runs dswap as the plugin docker-swap) and the CLI's
// contexts, so that a plugin talks to the Engine the docker CLI would.
package dockercli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Endpoint is where the current docker context says the Engine is. An
// empty Host means the default (DOCKER_HOST or the local socket), which
// the Engine client finds by itself.
type Endpoint struct {
	// Context is the context's name ("default" for none).
	Context string
	Host    string
	// CertPath is the directory of the context's TLS material (ca.pem,
	// cert.pem, key.pem), or "" without TLS.
	CertPath      string
	SkipTLSVerify bool
}

// Env is what a resolution reads: the process environment and the
// options the docker CLI was given before the plugin's name.
type Env struct {
	Getenv func(string) string
	// Home is the user's home directory, for ~/.docker.
	Home string
	// Options are the docker CLI's global options (--context, --host,
	// --config) as the user gave them to `docker`.
	Options GlobalOptions
}

// ConfigDir is the docker CLI's configuration directory: --config, else
// DOCKER_CONFIG, else ~/.docker.
func (e Env) ConfigDir() string {
	if e.Options.Config != "" {
		return e.Options.Config
	}
	if d := e.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(e.Home, ".docker")
}

// ContextName picks the context as the docker CLI does: --context, then
// "default" when --host or DOCKER_HOST names an Engine, then
// DOCKER_CONTEXT, then the configuration's currentContext, else "default".
func (e Env) ContextName() (string, error) {
	switch {
	case e.Options.Context != "":
		return e.Options.Context, nil
	case e.Options.Host != "", e.Getenv("DOCKER_HOST") != "":
		return "default", nil
	case e.Getenv("DOCKER_CONTEXT") != "":
		return e.Getenv("DOCKER_CONTEXT"), nil
	}
	raw, err := os.ReadFile(filepath.Join(e.ConfigDir(), "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return "default", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the docker CLI's configuration: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("reading %s: %w; fix or remove it", filepath.Join(e.ConfigDir(), "config.json"), err)
	}
	if cfg.CurrentContext == "" {
		return "default", nil
	}
	return cfg.CurrentContext, nil
}

// Resolve returns the Engine endpoint of the current context.
func Resolve(e Env) (Endpoint, error) {
	if e.Options.Host != "" {
		return Endpoint{Context: "default", Host: e.Options.Host}, nil
	}
	name, err := e.ContextName()
	if err != nil {
		return Endpoint{}, err
	}
	if name == "default" {
		return Endpoint{Context: name, Host: e.Getenv("DOCKER_HOST")}, nil
	}
	// The CLI's context store names a context's directory by the SHA-256
	// of its name, so that any name is a valid directory name.
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(e.ConfigDir(), "contexts", "meta", id, "meta.json")
	raw, err := os.ReadFile(metaPath)
	if errors.Is(err, os.ErrNotExist) {
		return Endpoint{}, fmt.Errorf("docker context %q does not exist (no %s); list contexts with `docker context ls` and pick one with `docker context use NAME`", name, metaPath)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("reading docker context %q: %w", name, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string `json:"Host"`
			SkipTLSVerify bool   `json:"SkipTLSVerify"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("reading docker context %q from %s: %w", name, metaPath, err)
	}
	docker, ok := meta.Endpoints["docker"]
	if !ok || docker.Host == "" {
		return Endpoint{}, fmt.Errorf("docker context %q has no Docker endpoint; recreate it with `docker context create %s --docker host=...`", name, name)
	}
	if strings.HasPrefix(docker.Host, "ssh://") {
		return Endpoint{}, fmt.Errorf("docker context %q reaches the Engine over SSH (%s), which dswap does not speak; run dswap on that host, or forward its socket (ssh -L /tmp/docker.sock:/var/run/docker.sock) and use DOCKER_HOST=unix:///tmp/docker.sock", name, docker.Host)
	}
	ep := Endpoint{Context: name, Host: docker.Host, SkipTLSVerify: docker.SkipTLSVerify}
	tls := filepath.Join(e.ConfigDir(), "contexts", "tls", id, "docker")
	if _, err := os.Stat(filepath.Join(tls, "ca.pem")); err == nil {
		ep.CertPath = tls
	}
	return ep, nil
}

// Environ is the DOCKER_* variables that make the Engine client (which
// reads them, as client.FromEnv) talk to ep. A default context changes
// nothing.
func (ep Endpoint) Environ() map[string]string {
	if ep.Host == "" {
		return nil
	}
	out := map[string]string{"DOCKER_HOST": ep.Host}
	if ep.CertPath != "" {
		out["DOCKER_CERT_PATH"] = ep.CertPath
		if !ep.SkipTLSVerify {
			out["DOCKER_TLS_VERIFY"] = "1"
		}
	}
	return out
}
