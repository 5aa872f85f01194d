package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/settings"
)

// Target is what `dswap up ARG` swaps: an image, or a compose service
// with what its compose file says.
type Target struct {
	Image   string
	Service string // "project/service" for a compose service
	File    *File
	Spec    *ServiceSpec
}

// TargetOptions are what decides what `dswap up ARG` means.
type TargetOptions struct {
	Arg         string
	Image       string   // --image: the compose service's new image
	ProjectName string   // --project-name
	Files       []string // -f: compose files (not with Build, where -f is the Dockerfile)
	// ServiceGiven is --service; Build is --build's directory. Both
	// make no sense for a compose service, whose file says both.
	ServiceGiven bool
	Build        string
}

// ErrUsage marks a Target that cannot be resolved from what the user gave:
// the command line or the compose file must change.
var ErrUsage = errors.New("compose target")

type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// ResolveTarget decides whether ARG is a compose service or an image. It
// is a service when a compose file is found (-f, COMPOSE_FILE, or
// compose.yaml and the other default names in the working directory or a
// parent) and defines a service of that name; otherwise it is an image, so
// that `dswap up myapp:v2` keeps working beside a compose file. Every error
// it returns is ErrUsage: the user's to fix.
func ResolveTarget(ctx context.Context, o TargetOptions, log *slog.Logger) (*Target, error) {
	LogTo(log)
	arg, image, projectName := o.Arg, o.Image, o.ProjectName
	files := o.Files
	if o.Build != "" {
		// With --build, -f is the Dockerfile, as in docker build.
		files = nil
	}
	f, err := Load(ctx, LoadOptions{Files: files, ProjectName: projectName})
	switch {
	case errors.Is(err, ErrNoFile):
		if image != "" || projectName != "" {
			return nil, usagef("--image and --project-name go with a compose SERVICE, and no compose file was found (pass -f FILE, set COMPOSE_FILE, or run in the directory of compose.yaml)")
		}
		return &Target{Image: arg}, nil
	case err != nil && len(files) > 0:
		return nil, usageError{err}
	case err != nil:
		// A compose file nobody named does not stop an image swap, but
		// if ARG was meant as its service, the user needs to know why it
		// was not found there.
		if image != "" || projectName != "" {
			return nil, usageError{err}
		}
		log.Warn("ignoring the compose file, which does not load; treating the argument as an image", "argument", arg, "error", err)
		return &Target{Image: arg}, nil
	}
	if !f.Has(arg) {
		switch {
		case len(files) > 0 && strings.ContainsAny(arg, ":/@"):
			return nil, usagef("-f names compose files, and %s is an image, not one of their services (%s): to swap a compose service to an image, run dswap up SERVICE --image %s -f FILE", arg, strings.Join(f.Services(), ", "), arg)
		case len(files) > 0:
			return nil, usagef("compose file %s has no service %q; its services are %s", strings.Join(f.Paths, ", "), arg, strings.Join(f.Services(), ", "))
		case image != "":
			return nil, usagef("--image goes with a compose SERVICE, and %s is not a service of %s (%s)", arg, strings.Join(f.Paths, ", "), strings.Join(f.Services(), ", "))
		}
		return &Target{Image: arg}, nil
	}
	spec, err := f.Service(arg)
	if err != nil {
		return nil, usageError{err}
	}
	if image != "" {
		spec = spec.WithImage(image)
	}
	if o.ServiceGiven {
		return nil, usagef("%s is a service of compose project %s; --service is not needed (it would name another service)", arg, f.Project)
	}
	if o.Build != "" {
		return nil, usagef("%s is a compose service: dswap builds it from its build: section; drop --build (or pass --image)", arg)
	}
	log.Info("compose service", "project", f.Project, "service", spec.Service, "files", strings.Join(f.Paths, ","), "image", spec.DefaultImage())
	return &Target{Image: spec.DefaultImage(), Service: f.Project + "/" + spec.Service, File: f, Spec: spec}, nil
}

// Overrides layers the compose file under the flags and DSWAP_*
// variables: flags, variables, then the file (x-dswap, then its compose
// keys, then its dswap.* labels); the running containers' dswap.* labels
// and the defaults come below, in the swap.
func (t *Target) Overrides(over settings.Overrides, log *slog.Logger) (settings.Overrides, error) {
	if t.Spec == nil {
		return over, nil
	}
	s := t.Spec
	file, err := labels.DecodeSettings(s.Labels)
	if err != nil {
		return over, usageError{fmt.Errorf("service %s in %s: %w", s.Service, strings.Join(s.Files, ", "), err)}
	}
	out := settings.Merge(over, s.Settings, s.Overrides(), file.Overrides)
	if s.Update.Order != nil && *s.Update.Order == "stop-first" && over.Order == nil {
		log.Warn("the compose file asks for update_config.order stop-first: each batch's old containers leave the route before the new ones are ready, so capacity drops by a batch meanwhile. dswap's own default is start-first (new before old); Swarm's and Compose's is stop-first. Remove the key (or pass --order start-first) unless the containers cannot run twice", "service", s.Service)
	}
	return out, nil
}

// Healthcheck is the HEALTHCHECK the new containers of a compose service
// get: the file's, or none of their own (so the image's runs). It is nil
// for an image, whose running container's carries over.
func (t *Target) Healthcheck(log *slog.Logger) *engine.Healthcheck {
	if t.Spec == nil {
		return nil
	}
	h := t.Spec.Healthcheck
	if h == nil {
		return &engine.Healthcheck{}
	}
	if h.StartInterval > 0 {
		log.Warn("healthcheck.start_interval needs Docker Engine 25 (API 1.44); dswap leaves it out", "service", t.Spec.Service)
	}
	return &engine.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
}

// HashLabels works out the config hash that makes `docker compose up -d`
// with the same files find the new containers up to date. When it cannot,
// the new containers keep the old hash, compose will recreate them, and
// the user is told why.
func (t *Target) HashLabels(ctx context.Context, like *engine.Container, log *slog.Logger) map[string]string {
	running := Running{Labels: like.Labels, Image: like.Image}
	var (
		lbls   map[string]string
		reason string
		err    error
	)
	recreate := "`docker compose up -d` will recreate the containers to apply the rest of the file"
	if IsV1(like.Labels) {
		recreate = "`docker-compose up -d` will recreate the containers to apply the rest of the file"
		v1, ferr := FindV1(ctx)
		if ferr != nil {
			log.Warn("the project was created by docker-compose v1, whose config hash only v1 itself computes; the new container(s) keep the old one, so "+recreate, "why", ferr)
			return nil
		}
		lbls, reason, err = v1.HashLabels(ctx, t.File, t.Spec, running)
	} else {
		lbls, reason, err = t.Spec.HashLabels(running)
	}
	switch {
	case err != nil:
		log.Warn("could not work out compose's config hash for the new container(s); they keep the old one, so "+recreate, "error", err)
	case lbls == nil:
		log.Warn("the new container(s) keep the old compose config hash: "+reason+"; dswap applies only the image, labels and healthcheck, so "+recreate, "service", t.Spec.Service)
	}
	return lbls
}

// ImageInspector looks an image up locally.
type ImageInspector interface {
	InspectImage(ctx context.Context, ref string) (*engine.Image, error)
}

// Build returns how to build the service's image from its build: section
// when compose would (pull_policy build, or the image is not here), and
// nil otherwise. imageGiven is --image, which names an image to run
// instead of the file's.
func (t *Target) Build(ctx context.Context, images ImageInspector, imageGiven bool, log *slog.Logger) (*engine.BuildOptions, error) {
	if t.Spec == nil || t.Spec.Build == nil || imageGiven {
		return nil, nil
	}
	if t.Spec.PullPolicy != "build" {
		_, err := images.InspectImage(ctx, t.Image)
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, engine.ErrNotFound) {
			return nil, err
		}
	}
	b := t.Spec.Build
	log.Info("building the service's image from its compose build section", "image", t.Image, "context", b.Context)
	return &engine.BuildOptions{Context: b.Context, Dockerfile: b.Dockerfile, Args: b.Args, Target: b.Target}, nil
}

// LogTo sends what compose-go logs (through logrus: an obsolete version:
// key, several default files) to log, so that it reads like the rest of
// dswap's output and --output json stays JSON.
func LogTo(log *slog.Logger) {
	logrus.SetOutput(io.Discard)
	logrus.StandardLogger().ReplaceHooks(logrus.LevelHooks{})
	logrus.AddHook(logrusHook{log})
}

type logrusHook struct{ log *slog.Logger }

func (logrusHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h logrusHook) Fire(e *logrus.Entry) error {
	if e.Level <= logrus.WarnLevel {
		h.log.Warn(e.Message, "from", "compose file loader")
	} else {
		h.log.Debug(e.Message, "from", "compose file loader")
	}
	return nil
}
