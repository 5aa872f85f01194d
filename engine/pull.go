package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/docker/docker/api/types/image"
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

// Images gets images onto the Engine.
type Images struct {
	Engine *Engine
	Policy PullPolicy
	Log    *slog.Logger
}

// Ensure returns the local image for ref, pulling it first as the policy says.
func (im *Images) Ensure(ctx context.Context, ref string) (*Image, error) {
	if im.Policy != PullAlways {
		img, err := im.Engine.InspectImage(ctx, ref)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return img, err
		}
		if im.Policy == PullNever {
			return nil, fmt.Errorf("image %s is not on this Engine and --pull is never: build or load it first: %w", ref, err)
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

func (im *Images) pull(ctx context.Context, ref string) error {
	if im.Log != nil {
		im.Log.Info("pulling", "image", ref)
	}
	rc, err := im.Engine.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return notFound(err, "pulling image "+ref)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Status      string `json:"status"`
			ID          string `json:"id"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("pulling image %s: reading progress: %w", ref, err)
		}
		if msg.ErrorDetail != nil {
			return fmt.Errorf("pulling image %s: %s", ref, msg.ErrorDetail.Message)
		}
	}
}
