package swap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// Deps are a swap's side effects.
type Deps struct {
	Docker     Docker
	Images     Images
	Routes     Routes
	Traefik    Traefik
	Addressing Addressing
	Log        *slog.Logger
	// Locks and History are optional.
	Locks   Locker
	History History

	// TraefikVersion is the release of the running Traefik: labels are
	// checked against the fields it knows. The zero value stands for the
	// newest release dswap knows.
	TraefikVersion labels.TraefikVersion
}

// Request is what the user asked for.
type Request struct {
	Image     string
	Service   string
	Overrides Overrides
	// Force swaps even when the service already runs this image.
	Force bool
	// Labels, when not nil, are the service's labels as its definition (a
	// compose file) gives them: the new containers get them instead of the
	// labels set on the old ones; compose's own labels carry over.
	Labels map[string]string
	// Healthcheck, when not nil, is the definition's HEALTHCHECK for the
	// new containers; an empty Test means the image's own.
	Healthcheck *engine.Healthcheck
	// DefinitionLabels, when set, is asked once the image is known for the
	// labels that record which definition the new containers follow
	// (compose's config hash), given the container they copy.
	DefinitionLabels func(ctx context.Context, like *engine.Container, image *engine.Image) (map[string]string, error)
}

// Result describes a finished swap.
type Result struct {
	Service   string
	FromImage string // "" for a first start
	ToImage   string
	Old, New  []string // container names
	Steps     []Step
	Readiness string
	// HealthyAfter is from the start of the swap until the new
	// container(s) were healthy; RoutedAfterHealthy is from then until
	// Traefik showed the new route; Flip is from writing the route file to
	// Traefik showing it.
	HealthyAfter       time.Duration
	RoutedAfterHealthy time.Duration
	Flip               time.Duration
	// Drained lists, per old container, how it stopped.
	Drained []DrainOutcome
	Total   time.Duration
	// Noop is set when the service already ran the image.
	Noop bool
}

// DrainOutcome is how one old container stopped.
type DrainOutcome struct {
	Container string
	Took      time.Duration
	// Killed is set when it did not exit within the drain window.
	Killed   bool
	ExitCode int
}

// Swapper runs one swap. Make a new one per swap.
type Swapper struct {
	Deps
	log       *slog.Logger
	overrides Overrides
	started   time.Time
	cfg       Config
	phase     Phase
	steps     []Step
}

// New returns a Swapper for one swap.
func New(d Deps) *Swapper {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Swapper{Deps: d, log: log}
}

func (s *Swapper) enter(p Phase, note string, attrs ...any) {
	s.phase = p
	s.steps = append(s.steps, Step{Phase: p, At: time.Now(), Note: note})
	s.log.Info(note, append([]any{"phase", p.String()}, attrs...)...)
}

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
	// serving are the containers the route names now; done are the
	// batches of new containers that replaced old ones so far.
	serving []*engine.Container
	done    [][]*engine.Container
	// def is what the service's definition sets on the new containers.
	def *definition
}

// Up swaps the service to req.Image.
func (s *Swapper) Up(ctx context.Context, req Request) (res *Result, err error) {
	s.started = time.Now()
	s.overrides = req.Overrides
	s.enter(PhasePlan, "planning", "image", req.Image)
	svc, all, release, err := s.lockService(ctx, req.Service, req.Image)
	if err != nil {
		return nil, err
	}
	defer release()
	p, err := s.plan(ctx, req, svc, all)
	if err != nil {
		return nil, err
	}
	res = &Result{Service: p.svc.Name, ToImage: req.Image, FromImage: p.fromImage}
	for _, c := range p.old {
		res.Old = append(res.Old, c.Name)
	}
	if !req.Force && len(p.old) > 0 && allRun(p.old, p.image.ID) {
		return s.noop(ctx, p, res)
	}
	defer func() { s.record(p, req, res, err) }()

	err = s.rollout(ctx, p, req, res)
	res.Total = time.Since(s.started)
	res.Steps = s.steps
	if err != nil {
		return res, err
	}
	s.enter(PhaseDone, "done")
	res.Steps = s.steps
	return res, nil
}

// lockService finds the service, takes its lock and puts right what an
// interrupted swap left, so that the swap starts from a consistent state.
// It returns the service as it is once the lock is held.
func (s *Swapper) lockService(ctx context.Context, name, image string) (*Service, []*engine.Container, func(), error) {
	all, err := s.Docker.List(ctx, engine.ListFilter{All: true})
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := FindService(all, name, image)
	if err != nil {
		return nil, nil, nil, err
	}
	release := func() {}
	if s.Locks != nil {
		if release, err = s.Locks.Lock(ctx, svc.Key()); err != nil {
			return nil, nil, nil, err
		}
		// Whoever held the lock may have changed the service.
		if all, err = s.Docker.List(ctx, engine.ListFilter{All: true}); err == nil {
			svc, err = FindService(all, name, image)
		}
		if err != nil {
			release()
			return nil, nil, nil, err
		}
	}
	if err := s.migrateLegacyRoute(svc); err != nil {
		release()
		return nil, nil, nil, err
	}
	// Containers that claim the service but route differently take no
	// part: not copied, repaired, stopped or routed.
	if err := s.admit(svc); err != nil {
		release()
		return nil, nil, nil, err
	}
	var settings labels.Settings
	if t := svc.Template(); t != nil {
		if settings, err = labels.DecodeSettings(t.Labels); err != nil {
			release()
			return nil, nil, nil, asBadInput(fmt.Errorf("container %s: %w", t.Name, err))
		}
	}
	if s.cfg, err = Layer(s.overrides, settings); err != nil {
		release()
		return nil, nil, nil, err
	}
	repaired, err := s.repair(ctx, svc)
	if err == nil && repaired {
		if all, err = s.Docker.List(ctx, engine.ListFilter{All: true}); err == nil {
			if svc, err = FindService(all, name, image); err == nil {
				err = s.admit(svc)
			}
		}
	}
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return svc, all, release, nil
}

// monitor watches the new containers after the flip while the old ones
// stand by: if a new one dies or turns unhealthy within the window, the
// caller moves traffic back. The window is counted from when the new
// containers were ready. Interrupting dswap ends the watch early and the
// swap finishes.
func (s *Swapper) monitor(ctx context.Context, news []*engine.Container, readyAt time.Time) error {
	s.enter(PhaseMonitor, "watching the new container(s); the old ones stand by", "for", s.cfg.Monitor)
	events, errs, stop := s.subscribe(ctx, news, readyAt)
	defer stop()
	byID := map[string]*engine.Container{}
	for _, c := range news {
		byID[c.ID] = c
	}
	window := time.NewTimer(time.Until(readyAt.Add(s.cfg.Monitor)))
	defer window.Stop()
	// Docker needs retries x interval to call a container unhealthy; dswap
	// runs the same test itself on a short interval so that a version that
	// goes bad is taken out of traffic while it still answers.
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	failing := make(chan error, len(news))
	if s.cfg.ProbeInterval > 0 {
		for _, c := range news {
			if cmd := probeCommand(c.Healthcheck); cmd != nil {
				go s.watchHealth(probeCtx, c, cmd, failing)
			}
		}
	}
	for {
		select {
		case err := <-failing:
			return err
		case <-ctx.Done():
			s.log.Warn("interrupted while monitoring; traffic stays on the new version and the swap finishes", "phase", PhaseMonitor.String())
			return nil
		case <-window.C:
			s.log.Info("the new container(s) stayed healthy through the monitor window", "phase", PhaseMonitor.String())
			return nil
		case err := <-errs:
			return fmt.Errorf("watching the new container(s) after the flip: %w", err)
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("the Docker event stream ended while monitoring")
			}
			c := byID[ev.ContainerID]
			switch {
			case c == nil:
			case ev.Action == "die":
				return fmt.Errorf("new container %s exited (code %s) %s after it was ready, within the --monitor window of %s", c.Name, ev.Attributes["exitCode"], round(ev.Time.Sub(readyAt)), s.cfg.Monitor)
			case ev.Health() == "unhealthy":
				return fmt.Errorf("new container %s turned unhealthy %s after it was ready, within the --monitor window of %s", c.Name, round(ev.Time.Sub(readyAt)), s.cfg.Monitor)
			}
		}
	}
}

// watchHealth runs c's HEALTHCHECK test every probe interval and reports
// once it has failed as many times in a row as the HEALTHCHECK's retries.
func (s *Swapper) watchHealth(ctx context.Context, c *engine.Container, cmd []string, failing chan<- error) {
	retries := c.Healthcheck.Retries
	timeout := min(max(c.Healthcheck.Timeout, time.Second), 5*time.Second)
	ticker := time.NewTicker(s.cfg.ProbeInterval)
	defer ticker.Stop()
	streak := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		execCtx, cancel := context.WithTimeout(ctx, timeout)
		res, err := s.Docker.Exec(execCtx, c.ID, cmd)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && res.ExitCode == 0 {
			streak = 0
			continue
		}
		streak++
		if streak >= retries {
			why := res.Output
			if err != nil {
				why = err.Error()
			}
			failing <- fmt.Errorf("new container %s failed its HEALTHCHECK test %d times in a row within the --monitor window of %s: %s", c.Name, streak, s.cfg.Monitor, oneLine(why))
			return
		}
	}
}

// record appends the swap's outcome to the service's history.
func (s *Swapper) record(p *plan, req Request, res *Result, err error) {
	if s.History == nil || errors.Is(err, ErrBadInput) {
		return
	}
	e := history.Entry{
		ID: p.swapID, Service: p.svc.Name, Started: s.started.UTC(), Duration: time.Since(s.started),
		Result: "swapped", ToImage: req.Image, ToImageID: p.image.ID, FromImage: p.fromImage,
	}
	e.ToDigest = p.image.RepoDigest(req.Image)
	if len(p.old) > 0 {
		e.FromImageID = p.old[len(p.old)-1].ImageID
	}
	if res != nil {
		e.Containers = res.New
	}
	var failed *FailedError
	switch {
	case errors.As(err, &failed) && failed.Phase == PhaseMonitor:
		e.Result, e.Reason = "rolled-back", failed.Reason.Error()
	case err != nil:
		e.Result, e.Reason = "failed", err.Error()
	}
	if herr := s.History.Append(p.svc.Key(), e); herr != nil {
		s.log.Warn("could not record the swap in its history", "error", herr)
	}
}

func allRun(cs []*engine.Container, imageID string) bool {
	for _, c := range cs {
		if c.ImageID != imageID {
			return false
		}
	}
	return true
}

// noop handles a swap to the image that already runs: it only makes sure
// the route points at the running containers.
func (s *Swapper) noop(ctx context.Context, p *plan, res *Result) (*Result, error) {
	res.Noop = true
	res.New = res.Old
	if _, err := s.route(ctx, p.svc, p.routing, p.old, nil); err != nil {
		return nil, err
	}
	s.enter(PhaseDone, "already running this image; nothing to swap (pass --force to swap anyway)")
	res.Total = time.Since(s.started)
	res.Steps = s.steps
	return res, nil
}

func (s *Swapper) plan(ctx context.Context, req Request, svc *Service, all []*engine.Container) (*plan, error) {
	p := &plan{svc: svc, all: all, old: svc.Running, serving: svc.Running, oldImages: map[string]*engine.Image{}, swapID: newSwapID(), names: newNamer(all, svc)}
	var err error
	if len(p.old) > 0 {
		p.fromImage = p.old[len(p.old)-1].Image
	}
	s.log.Info("service", "phase", PhasePlan.String(), "name", svc.Name, "running", len(svc.Running), "drain", s.cfg.Drain)

	p.image, err = s.Images.Ensure(ctx, req.Image)
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

	// Decode the route the new containers will have, from the labels they
	// will carry, so that a malformed label stops the swap before anything
	// starts.
	predicted, ports, err := s.predictLabels(p)
	if err != nil {
		return nil, err
	}
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
func (s *Swapper) predictLabels(p *plan) (map[string]string, []int, error) {
	out := map[string]string{}
	for k, v := range p.image.Labels {
		out[k] = v
	}
	ports := append([]int{}, p.image.ExposedPorts...)
	if t := p.svc.Template(); t != nil {
		// The same spec the swap will create, so that planning refuses
		// exactly what creating would (and no more: stop-first allows
		// fixed host ports).
		spec, err := s.specFor(p, target{ref: p.image.ID, image: p.image, like: t})
		if err != nil {
			return nil, nil, asBadInput(err)
		}
		p.def.apply(spec)
		for k, v := range spec.Labels {
			out[k] = v
		}
		ports = append(ports, spec.ExposedPorts()...)
	}
	return out, ports, nil
}

// checkConflicts refuses a service that another Traefik provider (usually
// the docker provider reading the same labels) also routes.
func (s *Swapper) checkConflicts(ctx context.Context, r *labels.Routing) error {
	rt, err := s.Traefik.Runtime(ctx)
	if err != nil {
		return asBadInput(err)
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

// subscribe listens to the new containers' events from before they start,
// so no health or exit event can be missed.
func (s *Swapper) subscribe(ctx context.Context, news []*engine.Container, since time.Time) (<-chan engine.Event, <-chan error, func()) {
	ctx, cancel := context.WithCancel(ctx)
	f := engine.EventFilter{Since: since.Add(-time.Second)}
	for _, c := range news {
		f.Containers = append(f.Containers, c.ID)
	}
	events, errs := s.Docker.Events(ctx, f)
	return events, errs, cancel
}

func (s *Swapper) startAll(ctx context.Context, news []*engine.Container) error {
	for _, c := range news {
		if err := s.Docker.Start(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}

func newSwapID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// drain stops the old containers, each with the drain window as its stop
// timeout, all at once, then removes them.
func (s *Swapper) drain(ctx context.Context, old []*engine.Container) ([]DrainOutcome, error) {
	if len(old) == 0 {
		return nil, nil
	}
	s.enter(PhaseDrain, "stopping the old container(s)", "drain", s.cfg.Drain)
	outs, err := s.stopAll(ctx, old)
	if err != nil {
		return outs, err
	}
	s.enter(PhaseRemove, "removing the old container(s)")
	return outs, s.removeAll(ctx, old)
}

// stopAll stops containers concurrently, each with its stop signal and the
// drain window as stop timeout.
func (s *Swapper) stopAll(ctx context.Context, cs []*engine.Container) ([]DrainOutcome, error) {
	type outcome struct {
		DrainOutcome
		err error
	}
	results := make(chan outcome, len(cs))
	for _, c := range cs {
		go func() {
			start := time.Now()
			// The daemon kills the container when the window ends; the
			// margin covers the kill and the API call itself.
			stopCtx, cancel := context.WithTimeout(ctx, s.cfg.Drain+30*time.Second)
			defer cancel()
			err := s.Docker.Stop(stopCtx, c.ID, s.cfg.Drain)
			if errors.Is(err, engine.ErrNotFound) {
				err = nil // already gone
			}
			o := outcome{DrainOutcome: DrainOutcome{Container: c.Name, Took: time.Since(start)}, err: err}
			if err == nil {
				if after, ierr := s.Docker.Inspect(stopCtx, c.ID); ierr == nil {
					o.ExitCode = after.State.ExitCode
					o.Killed = after.State.ExitCode == 137 && !after.State.OOMKilled
				}
			}
			results <- o
		}()
	}
	var outs []DrainOutcome
	var errs []error
	for range cs {
		o := <-results
		if o.err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", o.Container, o.err))
			continue
		}
		note := "exited"
		if o.Killed {
			note = "killed: did not exit within the drain window"
		}
		s.log.Info("stopped", "phase", s.phase.String(), "container", o.Container, "took", round(o.Took), "exit code", o.ExitCode, "how", note)
		outs = append(outs, o.DrainOutcome)
	}
	return outs, errors.Join(errs...)
}

// removeAll removes containers; one already gone is fine.
func (s *Swapper) removeAll(ctx context.Context, cs []*engine.Container) error {
	var errs []error
	for _, c := range cs {
		if err := s.Docker.Remove(ctx, c.ID); err != nil && !errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// confirmedBy says how a route change was confirmed, for the output.
func confirmedBy(t Traefik) string {
	if u, ok := t.(*traefik.Unconfirmed); ok {
		return fmt.Sprintf("waiting %s (no Traefik API)", u.Wait)
	}
	return "Traefik API"
}
