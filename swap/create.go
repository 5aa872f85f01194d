package swap

import (
	"context"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// createBatch creates count new containers of target t: copies of t.like
// (or, when like is nil, containers of the image alone) running t.ref.
func (s *Swapper) createBatch(ctx context.Context, p *plan, t target, count int) ([]*engine.Container, error) {
	s.enter(PhaseCreate, "creating the new container(s)", "count", count, "image", t.ref)
	spec := t.spec
	if spec == nil {
		var err error
		if spec, err = s.newSpec(p, t); err != nil {
			return nil, s.rollback(ctx, p, nil, asBadInput(err), routeChange{})
		}
	}
	if set, _ := spec.HasHealthcheck(); !set && t.image.Healthcheck == nil && !s.cfg.NoHealthcheck {
		return nil, s.rollback(ctx, p, nil, badInput("image %s has no HEALTHCHECK, and dswap does not treat \"running\" as healthy. Add a HEALTHCHECK to the image, pass --health-cmd 'COMMAND' (run in the container), or pass --no-healthcheck --settle 10s to accept a container that stays up that long", t.ref), routeChange{})
	}
	var news []*engine.Container
	for range count {
		// Each container is the spec with a name of its own, and the
		// labels that record it.
		one := *spec
		one.Name, one.Labels = p.names.next(p.svc, t.like, spec.Labels)
		id, err := s.Docker.Create(ctx, &one)
		if err != nil {
			return nil, s.rollback(ctx, p, news, err, routeChange{})
		}
		c, err := s.Docker.Inspect(ctx, id)
		if err != nil {
			return nil, s.rollback(ctx, p, append(news, &engine.Container{ID: id, Name: one.Name}), err, routeChange{})
		}
		news = append(news, c)
		s.log.Info("created", "phase", PhaseCreate.String(), "container", c.Name, "image", t.ref)
	}
	return news, nil
}

// newSpec builds the spec of target t's new containers, but for the name
// each gets: the copied settings, the definition's, dswap's own labels and
// an explicit health command. It is built once per target: planning
// decodes the route from its labels, so that it refuses exactly what
// creating would, and creating uses the very same spec.
func (s *Swapper) newSpec(p *plan, t target) (*engine.Spec, error) {
	spec, err := s.specFor(p, t)
	if err != nil {
		return nil, err
	}
	t.def.apply(spec)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	lbls := spec.Labels
	lbls[labels.ServiceLabel] = p.svc.Name
	lbls[labels.SwapIDLabel] = p.swapID
	lbls[labels.CreatedByLabel] = "dswap"
	if t.like != nil {
		lbls[labels.PreviousContainerLabel] = t.like.Name
	}
	setIdentityLabels(lbls, t.image, t.ref, t.like)
	setComposeImageLabel(lbls, t.image)
	if test, _ := HealthTest(s.cfg.HealthCmd); test != nil {
		// Checked every second so readiness is noticed quickly; three
		// failures in a row after that make it unhealthy.
		spec.SetHealthcheck(engine.Healthcheck{Test: test, Interval: time.Second, Timeout: 5 * time.Second, Retries: 3})
	}
	return spec, nil
}

func (s *Swapper) specFor(p *plan, t target) (*engine.Spec, error) {
	if t.like == nil {
		var network string
		if nets := s.Addressing.TraefikNetworks; len(nets) > 0 {
			network = nets[0]
		}
		return engine.FromImage(t.ref, network), nil
	}
	if s.cfg.Update.Order == "stop-first" {
		return engine.CloneAfterStop(t.like, p.oldImages[t.like.ImageID], t.ref)
	}
	return engine.Clone(t.like, p.oldImages[t.like.ImageID], t.ref)
}

func (s *Swapper) startAll(ctx context.Context, news []*engine.Container) error {
	for _, c := range news {
		if err := s.Docker.Start(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}
