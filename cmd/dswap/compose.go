package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

// upTarget is what `dswap up ARG` swaps: an image, or a compose service
// with what its compose file says.
type upTarget struct {
	image   string
	service string // "project/service" for a compose service
	file    *compose.File
	spec    *compose.ServiceSpec
}

// resolveUp decides whether ARG is a compose service or an image. It is a
// service when a compose file is found (-f, COMPOSE_FILE, or compose.yaml
// and the other default names in the working directory or a parent) and
// defines a service of that name; otherwise it is an image, so that
// `dswap up myapp:v2` keeps working beside a compose file.
func resolveUp(ctx context.Context, fs *pflag.FlagSet, arg string, log *slog.Logger) (*upTarget, error) {
	composeGoLogs(log)
	image, _ := fs.GetString("image")
	projectName, _ := fs.GetString("project-name")
	var files []string
	if dir, _ := fs.GetString("build"); dir == "" {
		// With --build, -f is the Dockerfile, as in docker build.
		files, _ = fs.GetStringArray("file")
	}
	f, err := compose.Load(ctx, compose.LoadOptions{Files: files, ProjectName: projectName})
	switch {
	case errors.Is(err, compose.ErrNoFile):
		if image != "" || projectName != "" {
			return nil, usagef("--image and --project-name go with a compose SERVICE, and no compose file was found (pass -f FILE, set COMPOSE_FILE, or run in the directory of compose.yaml)")
		}
		return &upTarget{image: arg}, nil
	case err != nil && len(files) > 0:
		return nil, badInput(err)
	case err != nil:
		// A compose file nobody named does not stop an image swap, but
		// if ARG was meant as its service, the user needs to know why it
		// was not found there.
		if image != "" || projectName != "" {
			return nil, badInput(err)
		}
		log.Warn("ignoring the compose file, which does not load; treating the argument as an image", "argument", arg, "error", err)
		return &upTarget{image: arg}, nil
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
		return &upTarget{image: arg}, nil
	}
	spec, err := f.Service(arg)
	if err != nil {
		return nil, badInput(err)
	}
	if image != "" {
		spec = spec.WithImage(image)
	}
	if fs.Changed("service") {
		return nil, usagef("%s is a service of compose project %s; --service is not needed (it would name another service)", arg, f.Project)
	}
	if dir, _ := fs.GetString("build"); dir != "" {
		return nil, usagef("%s is a compose service: dswap builds it from its build: section; drop --build (or pass --image)", arg)
	}
	log.Info("compose service", "project", f.Project, "service", spec.Service, "files", strings.Join(f.Paths, ","), "image", spec.DefaultImage())
	return &upTarget{image: spec.DefaultImage(), service: f.Project + "/" + spec.Service, file: f, spec: spec}, nil
}

// overrides layers the compose file under the flags and DSWAP_*
// variables: flags, variables, then the file (x-dswap, then its compose
// keys, then its dswap.* labels); the running containers' dswap.* labels
// and the defaults come below, in the swap.
func (t *upTarget) overrides(over swap.Overrides, log *slog.Logger) (swap.Overrides, error) {
	if t.spec == nil {
		return over, nil
	}
	s := t.spec
	file, err := labels.DecodeSettings(s.Labels)
	if err != nil {
		return over, badInput(fmt.Errorf("service %s in %s: %w", s.Service, strings.Join(s.Files, ", "), err))
	}
	out := settings.Merge(over, s.Settings, s.Overrides(), file.Overrides)
	if s.Update.Order != nil && *s.Update.Order == "stop-first" && over.Order == nil {
		log.Warn("the compose file asks for update_config.order stop-first: each batch's old containers leave the route before the new ones are ready, so capacity drops by a batch meanwhile. dswap's own default is start-first (new before old); Swarm's and Compose's is stop-first. Remove the key (or pass --order start-first) unless the containers cannot run twice", "service", s.Service)
	}
	return out, nil
}

// request fills in what the compose file says the new containers must
// have: its labels and healthcheck, and compose's record of the file.
func (t *upTarget) request(req *swap.Request, log *slog.Logger) {
	if t.spec == nil {
		return
	}
	req.Labels = t.spec.Labels
	// A compose container has no HEALTHCHECK of its own unless the file
	// gives one; without one it runs the image's.
	req.Healthcheck = &engine.Healthcheck{}
	if h := t.spec.Healthcheck; h != nil {
		req.Healthcheck = &engine.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		if h.StartInterval > 0 {
			log.Warn("healthcheck.start_interval needs Docker Engine 25 (API 1.44); dswap leaves it out", "service", t.spec.Service)
		}
	}
	req.DefinitionLabels = func(ctx context.Context, like *engine.Container, _ *engine.Image) (map[string]string, error) {
		return t.hashLabels(ctx, like, log), nil
	}
}

// hashLabels works out the config hash that makes `docker compose up -d`
// with the same files find the new containers up to date. When it cannot,
// the new containers keep the old hash, compose will recreate them, and
// the user is told why.
func (t *upTarget) hashLabels(ctx context.Context, like *engine.Container, log *slog.Logger) map[string]string {
	running := compose.Running{Labels: like.Labels, Image: like.Image}
	var (
		lbls   map[string]string
		reason string
		err    error
	)
	recreate := "`docker compose up -d` will recreate the containers to apply the rest of the file"
	if compose.IsV1(like.Labels) {
		recreate = "`docker-compose up -d` will recreate the containers to apply the rest of the file"
		v1, ferr := compose.FindV1(ctx)
		if ferr != nil {
			log.Warn("the project was created by docker-compose v1, whose config hash only v1 itself computes; the new container(s) keep the old one, so "+recreate, "why", ferr)
			return nil
		}
		lbls, reason, err = v1.HashLabels(ctx, t.file, t.spec, running)
	} else {
		lbls, reason, err = t.spec.HashLabels(running)
	}
	switch {
	case err != nil:
		log.Warn("could not work out compose's config hash for the new container(s); they keep the old one, so "+recreate, "error", err)
	case lbls == nil:
		log.Warn("the new container(s) keep the old compose config hash: "+reason+"; dswap applies only the image, labels and healthcheck, so "+recreate, "service", t.spec.Service)
	}
	return lbls
}

// prepareBuild makes the swap build the service's image from its build:
// section when compose would: pull_policy build, or the image is not here.
func (t *upTarget) prepareBuild(ctx context.Context, fs *pflag.FlagSet, env *environment, log *slog.Logger) error {
	if t.spec == nil || t.spec.Build == nil || fs.Changed("image") {
		return nil
	}
	if t.spec.PullPolicy != "build" {
		_, err := env.engine.InspectImage(ctx, t.image)
		if err == nil {
			return nil
		}
		if !errors.Is(err, engine.ErrNotFound) {
			return err
		}
	}
	im, ok := env.deps.Images.(*engine.Images)
	if !ok {
		return fmt.Errorf("internal: the image getter cannot build")
	}
	b := t.spec.Build
	im.Build = &engine.BuildOptions{Context: b.Context, Dockerfile: b.Dockerfile, Args: b.Args, Target: b.Target}
	log.Info("building the service's image from its compose build section", "image", t.image, "context", b.Context)
	return nil
}

// composeGoLogs sends what compose-go logs (through logrus: an obsolete
// version: key, several default files) to dswap's log, so that it reads
// like the rest of the output and --output json stays JSON.
func composeGoLogs(log *slog.Logger) {
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
