package swap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// plan is everything decided before anything changes.
type plan struct {
	svc       *Service
	all       []*engine.Container
	image     *engine.Image
	old       []*engine.Container
	oldImages map[string]*engine.Image // by image ID
	routing   *labels.Routing
	fromImage string
	swapID    string
	names     *namer
	// target is what the update creates, its spec built once.
	target target
	// serving are the containers the route names now; done are the
	// batches of new containers that replaced old ones so far.
	serving []*engine.Container
	done    [][]*engine.Container
	// def is what the service's definition sets on the new containers.
	def *definition
	// post are the post tasks still to run: the batch that completes the
	// update runs them. postErr is their failure under --post-failure
	// report: the swap completes, and fails.
	post    []string
	postNow bool
	postErr error
	// paused is set once a --pause canary reached its last weight: the
	// swap stops there, the route split (see pause.go). allWeights are the
	// canary's steps from the start, when promote goes on with the rest.
	paused     bool
	allWeights []int
	// canaryServed is set once a canary's weights gave the new containers
	// traffic: undoing the swap then drains them (see rollback).
	canaryServed bool
}

func (s *Swapper) plan(ctx context.Context, req Request, svc *Service, all []*engine.Container) (*plan, error) {
	p := &plan{svc: svc, all: all, old: svc.Running, serving: svc.Running, oldImages: map[string]*engine.Image{}, swapID: newSwapID(), names: newNamer(all, svc)}
	s.reserveLingering(p.names)
	var err error
	if len(p.old) > 0 {
		p.fromImage = p.old[len(p.old)-1].Image
	}
	s.log.Info("service", "phase", PhasePlan.String(), "name", svc.Name, "running", len(svc.Running), "drain", s.cfg.Drain)

	p.image, err = s.Images.Ensure(ctx, req.Image, req.Source)
	if err != nil {
		return nil, imageUnavailable(err)
	}
	if p.def, err = newDefinition(ctx, req, svc.Template(), p.image); err != nil {
		return nil, err
	}
	for _, c := range append(append([]*engine.Container{}, svc.Running...), svc.Stopped...) {
		if _, ok := p.oldImages[c.ImageID]; ok {
			continue
		}
		img, err := s.Images.InspectImage(ctx, c.ImageID)
		if err != nil {
			return nil, fmt.Errorf("inspecting the image of container %s (needed to tell its defaults from the container's own settings): %w", c.Name, err)
		}
		p.oldImages[c.ImageID] = img
	}

	// The spec the swap will create, built now so that planning refuses
	// exactly what creating would (and no more: stop-first allows fixed
	// host ports), and the route is decoded from the labels the new
	// containers will carry: a malformed label stops the swap before
	// anything starts.
	p.target = target{ref: req.Image, image: p.image, like: svc.Template(), def: p.def}
	if p.target.spec, err = s.newSpec(p, p.target); err != nil {
		return nil, asBadInput(err)
	}
	predicted, ports := s.predictLabels(p)
	p.routing, err = s.decodeRouting(predicted, svc.Name, ports)
	if err != nil {
		return nil, asBadInput(fmt.Errorf("service %s: %w", svc.Name, err))
	}
	if err := s.checkConflicts(ctx, p.routing); err != nil {
		return nil, err
	}
	if err := s.checkNames(svc, p.routing); err != nil {
		return nil, err
	}
	return p, nil
}

// predictLabels returns the labels and exposed ports a new container will
// have: its own (copied) labels over the new image's.
func (s *Swapper) predictLabels(p *plan) (map[string]string, []int) {
	out := map[string]string{}
	for k, v := range p.image.Labels {
		out[k] = v
	}
	ports := append([]int{}, p.image.ExposedPorts...)
	if p.target.like != nil {
		for k, v := range p.target.spec.Labels {
			out[k] = v
		}
		ports = append(ports, p.target.spec.ExposedPorts()...)
	}
	return out, ports
}

// checkConflicts refuses a service that another Traefik provider (usually
// the docker provider reading the same labels) also routes.
func (s *Swapper) checkConflicts(ctx context.Context, r *labels.Routing) error {
	rt, err := s.Traefik.Runtime(ctx)
	if err != nil {
		// Not the user's to fix as such: a Traefik that restarts answers
		// nothing, then 404 until its API is up, and a keeper must try
		// again rather than wait for the service's next event.
		return fmt.Errorf("reading Traefik's routers and services, to make sure no other provider routes this service: %w; check that Traefik runs and that its API answers at the address dswap was given (--traefik-api)", err)
	}
	if rt == nil {
		return nil // no API to ask; said when it was configured
	}
	if c := rt.Conflicts(r.RouterNames(), r.ServiceNames()); len(c) > 0 {
		return badInput("Traefik already routes this service through another provider (%s), so requests would keep reaching containers dswap takes out of the route. Add the label traefik.enable=false to the service (dswap still reads its traefik.* labels), or start Traefik with --providers.docker.exposedByDefault=false", strings.Join(c, ", "))
	}
	return nil
}

// checkNames refuses routes whose names another file in the routes
// directory already defines: Traefik would keep one of them, silently, and
// which one depends on the order of file names (a labelled container could
// replace a hand-written basicAuth middleware that routers use as
// auth@file). It also refuses to go on while a file of the directory cannot
// be read: Traefik then applies no change of the directory at all, so no
// flip could be confirmed.
func (s *Swapper) checkNames(svc *Service, r *labels.Routing) error {
	others, err := s.Routes.Others(svc.Key())
	if err != nil {
		return err
	}
	for _, file := range slices.Sorted(maps.Keys(others)) {
		rf, err := labels.ReadConfigFile(file, others[file])
		if err != nil {
			return badInput("%s in the routes directory cannot be read as Traefik's file provider reads it (%v). While it is so, Traefik ignores every change to the directory, so dswap changed nothing for service %s: fix or remove it", file, err, svc.Name)
		}
		for _, clash := range []struct {
			kind        string
			mine, there []string
		}{
			{"router", r.RouterNames(), rf.Routers},
			{"service", r.ServiceNames(), rf.Services},
			{"middleware", r.MiddlewareNames(), rf.Middlewares},
		} {
			for _, name := range clash.mine {
				if slices.ContainsFunc(clash.there, func(n string) bool { return strings.EqualFold(n, name) }) {
					return badInput("%s %q is also defined in %s in the routes directory; Traefik would keep only one of them. Rename it in the labels of service %s", clash.kind, name, file, svc.Name)
				}
			}
		}
	}
	return nil
}

func newSwapID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
