package engine

import (
	"context"
	"sort"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// Image is what dswap knows about one local image.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
	Created     time.Time
	Labels      map[string]string
	// ExposedPorts are the image's exposed TCP ports, sorted.
	ExposedPorts []int
	Healthcheck  *Healthcheck

	defaults imageDefaults
}

// imageDefaults is the part of an image's configuration that Docker merges
// into every container created from it. Cloning must tell these apart from
// what the user set on the container.
type imageDefaults struct {
	Env          []string
	Cmd          []string
	Entrypoint   []string
	WorkingDir   string
	User         string
	StopSignal   string
	Labels       map[string]string
	ExposedPorts map[string]struct{}
	Volumes      map[string]struct{}
	Healthcheck  *container.HealthConfig
}

// InspectImage returns the local image with this reference or ID.
func (e *Engine) InspectImage(ctx context.Context, ref string) (*Image, error) {
	raw, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return nil, notFound(err, "inspecting image "+ref)
	}
	return ImageFromInspect(raw), nil
}

// ImageFromInspect converts the daemon's image inspect data. Tests use it
// to build images without a daemon.
func ImageFromInspect(raw image.InspectResponse) *Image {
	img := &Image{
		ID:          raw.ID,
		RepoTags:    raw.RepoTags,
		RepoDigests: raw.RepoDigests,
	}
	img.Created, _ = time.Parse(time.RFC3339Nano, raw.Created)
	if cfg := raw.Config; cfg != nil {
		img.Labels = cfg.Labels
		img.defaults = imageDefaults{
			Env:          cfg.Env,
			Cmd:          cfg.Cmd,
			Entrypoint:   cfg.Entrypoint,
			WorkingDir:   cfg.WorkingDir,
			User:         cfg.User,
			StopSignal:   cfg.StopSignal,
			Labels:       cfg.Labels,
			ExposedPorts: cfg.ExposedPorts,
			Volumes:      cfg.Volumes,
		}
		if hc := cfg.Healthcheck; hc != nil {
			img.defaults.Healthcheck = &container.HealthConfig{
				Test:        hc.Test,
				Interval:    hc.Interval,
				Timeout:     hc.Timeout,
				StartPeriod: hc.StartPeriod,
				Retries:     hc.Retries,
			}
			img.Healthcheck = healthcheckOf(img.defaults.Healthcheck)
		}
		for p := range cfg.ExposedPorts {
			if port := PortOf(p); port > 0 && !isUDP(p) {
				img.ExposedPorts = append(img.ExposedPorts, port)
			}
		}
		sort.Ints(img.ExposedPorts)
	}
	if img.Labels == nil {
		img.Labels = map[string]string{}
	}
	return img
}

func isUDP(port string) bool {
	return len(port) > 4 && port[len(port)-4:] == "/udp"
}

// RepoDigest returns the image's repository digest for ref's repository,
// such as "127.0.0.1:5000/app@sha256:...": the content address a registry
// knows it by. An image that was built here and never pushed or pulled has
// none, and RepoDigest returns "".
func (img *Image) RepoDigest(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	for _, rd := range img.RepoDigests {
		if d, err := reference.ParseNormalizedNamed(rd); err == nil && d.Name() == named.Name() {
			return rd
		}
	}
	if d, ok := named.(reference.Digested); ok {
		return reference.FamiliarName(named) + "@" + d.Digest().String()
	}
	return ""
}
