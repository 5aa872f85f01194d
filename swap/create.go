package swap

import (
	"context"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// createBatch creates count new containers that copy like (or, when like
// is nil, start from the image alone) and run ref.
func (s *Swapper) createBatch(ctx context.Context, p *plan, t target, count int) ([]*engine.Container, error) {
	s.enter(PhaseCreate, "creating the new container(s)", "count", count, "image", t.ref)
	var news []*engine.Container
	for range count {
		spec, err := s.specFor(p, t)
		if err != nil {
			return nil, s.rollback(ctx, p, news, asBadInput(err), routeChange{})
		}
		t.def.apply(spec)
		var lbls map[string]string
		spec.Name, lbls = p.names.next(p.svc, t.like, spec.Labels)
		lbls[labels.ServiceLabel] = p.svc.Name
		lbls[labels.SwapIDLabel] = p.swapID
		lbls[labels.CreatedByLabel] = "dswap"
		if t.like != nil {
			lbls[labels.PreviousContainerLabel] = t.like.Name
		}
		setIdentityLabels(lbls, t.image, t.ref, t.like)
		setComposeImageLabel(lbls, t.image)
		spec.Labels = lbls
		if test, _ := HealthTest(s.cfg.HealthCmd); test != nil {
			// Checked every second so readiness is noticed quickly; three
			// failures in a row after that make it unhealthy.
			spec.SetHealthcheck(engine.Healthcheck{Test: test, Interval: time.Second, Timeout: 5 * time.Second, Retries: 3})
		}
		if set, _ := spec.HasHealthcheck(); !set && t.image.Healthcheck == nil && !s.cfg.NoHealthcheck {
			return nil, s.rollback(ctx, p, news, badInput("image %s has no HEALTHCHECK, and dswap does not treat \"running\" as healthy. Add a HEALTHCHECK to the image, pass --health-cmd 'COMMAND' (run in the container), or pass --no-healthcheck --settle 10s to accept a container that stays up that long", t.ref), routeChange{})
		}
		id, err := s.Docker.Create(ctx, spec)
		if err != nil {
			return nil, s.rollback(ctx, p, news, err, routeChange{})
		}
		c, err := s.Docker.Inspect(ctx, id)
		if err != nil {
			return nil, s.rollback(ctx, p, append(news, &engine.Container{ID: id, Name: spec.Name}), err, routeChange{})
		}
		news = append(news, c)
		s.log.Info("created", "phase", PhaseCreate.String(), "container", c.Name, "image", t.ref)
	}
	return news, nil
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
