package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/dswap-dev/dswap/credentials"
)

// PullPolicy says when an image is pulled.
type PullPolicy string

const (
	PullMissing PullPolicy = "missing" // pull only if there is no local image
	PullAlways  PullPolicy = "always"  // pull every time (moving tags)
	PullNever   PullPolicy = "never"   // use the local image or fail
)

// ParsePullPolicy validates a --pull value.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullMissing, PullAlways, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("--pull %q: want missing, always or never", s)
}

// Credentials finds the registry login for an image reference.
type Credentials interface {
	Find(ctx context.Context, ref string) (credentials.Found, error)
}

// Images gets images onto the Engine: pulled as Policy says, or built
// when Build is set.
type Images struct {
	Engine *Engine
	Policy PullPolicy
	Log    *slog.Logger
	// Credentials finds the login for a pull; nil pulls without one.
	Credentials Credentials
	// Build, when set, builds the image from a context instead of pulling.
	Build *BuildOptions
	// Terminal says the log is read on a terminal: pull progress is then
	// a summary line per second instead of a line per layer event.
	Terminal bool
}

// Source says how one Ensure gets an image: built from Build when that is
// set, else pulled as Pull says. What it leaves unset is as the Images were
// configured, so that one getter serves requests that each choose.
type Source struct {
	Pull  PullPolicy
	Build *BuildOptions
}

// resolve is the source one Ensure uses: src over the getter's own.
func (im *Images) resolve(src Source) Source {
	if src.Pull == "" {
		src.Pull = im.Policy
	}
	if src.Build == nil {
		src.Build = im.Build
	}
	return src
}

// Ensure returns the local image for ref, building it or pulling it first
// as src says.
func (im *Images) Ensure(ctx context.Context, ref string, src Source) (*Image, error) {
	src = im.resolve(src)
	if src.Build != nil {
		if err := im.build(ctx, ref, src); err != nil {
			return nil, err
		}
		return im.Engine.InspectImage(ctx, ref)
	}
	if src.Pull != PullAlways {
		img, err := im.Engine.InspectImage(ctx, ref)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return img, err
		}
		if src.Pull == PullNever {
			return nil, &ImageError{Ref: ref, Problem: ImageNotLocal, Err: err}
		}
	}
	if err := im.pull(ctx, ref); err != nil {
		return nil, err
	}
	return im.Engine.InspectImage(ctx, ref)
}

// InspectImage returns a local image.
func (im *Images) InspectImage(ctx context.Context, ref string) (*Image, error) {
	return im.Engine.InspectImage(ctx, ref)
}

func (im *Images) log() *slog.Logger {
	if im.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return im.Log
}

// pull pulls ref with the login the credential sources give for its
// registry, logging progress, and classifies a failure.
func (im *Images) pull(ctx context.Context, ref string) error {
	found, err := im.findCredentials(ctx, ref)
	if err != nil {
		return &ImageError{Ref: ref, Problem: ImageCredentials, Registry: found.Registry.Host, Err: err}
	}
	auth, err := encodeAuth(found)
	if err != nil {
		return fmt.Errorf("pulling image %s: %w", ref, err)
	}
	log := im.log()
	log.Info("pulling", "phase", "pull", "image", ref, "registry", found.Registry.Host, "credentials", found.Source)
	start := time.Now()
	fail := func(err error) error {
		if p := classifyPull(err); p != 0 {
			return &ImageError{Ref: ref, Problem: p, Registry: found.Registry.Host, CredentialSource: found.Source, Err: err}
		}
		return fmt.Errorf("pulling image %s from %s: %w", ref, found.Registry.Host, err)
	}
	rc, err := im.Engine.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	progress := newPullProgress(im.Terminal)
	emit := func(lines []progressLine) {
		for _, l := range lines {
			log.Info(l.msg, append([]any{"phase", "pull"}, l.attrs...)...)
		}
	}
	dec := json.NewDecoder(rc)
	for {
		var msg pullMessage
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("pulling image %s: reading the Engine's progress: %w", ref, err)
		}
		if e := msg.err(); e != "" {
			return fail(errors.New(e))
		}
		emit(progress.feed(msg, time.Now()))
	}
	emit(progress.finish())
	log.Info("pulled", "phase", "pull", "image", ref, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// findCredentials asks the credential sources, or returns "none" when
// there are none. The registry is known even when the lookup fails.
func (im *Images) findCredentials(ctx context.Context, ref string) (credentials.Found, error) {
	if im.Credentials != nil {
		return im.Credentials.Find(ctx, ref)
	}
	reg, err := credentials.RegistryOf(ref)
	return credentials.Found{Registry: reg, Source: "none"}, err
}

// encodeAuth turns a login into the X-Registry-Auth header value the
// Engine takes; no login is no header.
func encodeAuth(f credentials.Found) (string, error) {
	c := f.Credential
	if c.IsZero() {
		return "", nil
	}
	return registry.EncodeAuthConfig(registry.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
		ServerAddress: f.Registry.Key,
	})
}
