package swap

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/lock"
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
	// Tasks runs release tasks; a swap with tasks needs it.
	Tasks TaskEngine
	// Locks and History are optional.
	Locks   Locker
	History History
	// LockWait is how this swap waits for a service's lock that another
	// process holds; the zero value waits as Locks was configured.
	LockWait lock.Wait

	// Metrics reads Traefik's per-service counters, for canaries judged on
	// them; nil when Traefik's API is not known.
	Metrics Metrics
	// LiveWindow is how long StatusOf reads Traefik's metrics to show the
	// live figures of a service in a canary; 0 shows its weights only.
	LiveWindow time.Duration

	// TraefikVersion is the release of the running Traefik: labels are
	// checked against the fields it knows. The zero value stands for the
	// newest release dswap knows.
	TraefikVersion labels.TraefikVersion

	// Lingers and Conns, both set, make --keep-connections possible (see
	// linger.go); without them the old containers are drained at once.
	Lingers Lingers
	Conns   ConnCounter
}

// Request is what the user asked for.
type Request struct {
	Image     string
	Service   string
	Overrides Overrides
	// Source says how to get Image: pulled, and when, or built; the
	// zero value gets it as Deps.Images was configured.
	Source engine.Source
	// Force swaps even when the service already runs this image.
	Force bool
	// Labels, when not nil, are the service's labels as its definition (a
	// compose file) gives them: the new containers get them instead of the
	// labels set on the old ones; compose's own labels carry over.
	Labels map[string]string
	// Healthcheck, when not nil, is the definition's HEALTHCHECK for the
	// new containers; an empty Test means the image's own.
	Healthcheck *engine.Healthcheck
	// SkipTasks runs no release task (a rollback to what ran before).
	SkipTasks bool
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
	// Lingering are the old containers left running, unrouted, while
	// they hold open connections (--keep-connections).
	Lingering []Linger
	Total     time.Duration
	// Noop is set when the service already ran the image.
	Noop bool
	// Tasks are the release tasks run, in order.
	Tasks []TaskResult
	// Canary lists the canary steps run, with their figures.
	Canary []CanaryStep
	// Paused, set when a --pause canary stopped at its last weight, says
	// so and what to run next.
	Paused string
	// Weights are the new version's shares of the traffic as a canary's
	// route changed, confirmed by Traefik: each step, then 100 at the
	// promotion or 0 when it was taken out.
	Weights []WeightChange
}

// WeightChange is the new version's share of the traffic from At on.
type WeightChange struct {
	At      time.Time
	Percent int
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
	// baseline is Traefik's metrics as first read by a swap judged on
	// them, before any new container took traffic.
	baseline *traefik.Snapshot
	// weights are the canary's confirmed weights so far.
	weights []WeightChange
}

// weighed records that Traefik now gives the new version percent of the
// traffic.
func (s *Swapper) weighed(percent int) {
	s.weights = append(s.weights, WeightChange{At: time.Now(), Percent: percent})
}

// New returns a Swapper for one swap.
func New(d Deps) *Swapper {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if d.Lingers != nil {
		d.Docker = hideLingering{Docker: d.Docker, lingers: d.Lingers}
	}
	return &Swapper{Deps: d, log: log}
}

func (s *Swapper) enter(p Phase, note string, attrs ...any) {
	s.phase = p
	s.steps = append(s.steps, Step{Phase: p, At: time.Now(), Note: note})
	s.log.Info(note, append([]any{"phase", p.String()}, attrs...)...)
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
	if err := s.checkCanary(ctx, p); err != nil {
		return res, err
	}

	if !req.SkipTasks {
		if err := s.runTasks(ctx, p, PhasePre, s.cfg.Tasks.Pre, res); err != nil {
			res.Total = time.Since(s.started)
			return res, s.taskFailed(p, PhasePre, err, describeKept(p)+"; no new container was created")
		}
		p.post = s.cfg.Tasks.Post
	}
	err = s.rollout(ctx, p, req, res)
	res.Total = time.Since(s.started)
	res.Steps = s.steps
	res.Weights = s.weights
	if err != nil {
		return res, err
	}
	if p.paused {
		w := s.cfg.Canary.Weights[len(s.cfg.Canary.Weights)-1]
		res.Paused = fmt.Sprintf("canary paused: %s takes %d%% of the traffic, %s the rest; run dswap promote %s to go on, or dswap abort %s to go back", req.Image, w, p.fromImage, p.svc.Ref(), p.svc.Ref())
		s.enter(PhaseDone, res.Paused)
		res.Steps = s.steps
		return res, nil
	}
	if p.postErr != nil {
		return res, s.taskFailed(p, PhasePost, p.postErr, describeServing(p)+" serve: the new version stays (--post-failure report; --post-failure rollback would move traffic back)")
	}
	s.enter(PhaseDone, "done")
	res.Steps = s.steps
	return res, nil
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
