// Package swarm swaps a Docker Swarm service to a new image without
// dropping a request, keeping the service under its own name (and in its
// stack).
//
// Swarm's own rolling update stops an old task as soon as a new one runs,
// with no hook for a proxy in between, and a service cannot be renamed. So
// dswap moves the traffic through a temporary bridge service:
//
//  1. lock: a label on the user's service, written at its version index
//     (lock.go);
//  2. bridge: a service NAME-dswap with the service's spec and the new
//     image, as many replicas, all of them running (healthy) (bridge.go,
//     wait.go);
//  3. flip 1: Traefik's route names the bridge's tasks, confirmed through
//     Traefik's API (route.go);
//  4. the user's service is updated to the new image, only its image, while
//     its old tasks are unrouted (update.go);
//  5. flip 2: the route names the service's new tasks, confirmed;
//  6. the bridge is scaled to zero with the drain window as its stop grace
//     period, then removed (cleanup.go).
//
// With --canary, the bridge starts with the canary's tasks and the steps
// run between 2 and 3: weighted routes between the service's tasks and the
// bridge's, judged on Traefik's metrics, then the bridge scaled to the
// replica count (canary.go; --pause, promote and abort: canarypause.go).
//
// With --monitor, the window runs between 3 and 4: the bridge has all the
// traffic and the service's old tasks stand by, unrouted; a bridge task
// that stops running, or Traefik's metrics over --max-error-rate or
// --max-p99, moves the route back to them (monitor.go).
//
// With --parallelism k, steps 2 and 3 run in batches: the bridge grows k
// tasks at a time and each batch's route names its tasks beside the old
// tasks left, never fewer than the replica count (batch.go).
//
// Release tasks run as one-off services (one replica, restart condition
// none) of the new image with the service's spec: --pre before step 2,
// --post right after step 3, the old tasks standing by unrouted (tasks.go).
//
// A dswap killed midway leaves the bridge; the next dswap of the service
// finishes or undoes the swap from what the route names (recover.go).
package swarm

import (
	"context"
	"log/slog"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// Cluster is what a Swarm swap needs from a manager's Engine.
type Cluster interface {
	SwarmNode(ctx context.Context) (engine.SwarmNode, error)
	SwarmService(ctx context.Context, name string) (*engine.SwarmService, error)
	CreateSwarmService(ctx context.Context, s *engine.SwarmService) (string, error)
	UpdateSwarmService(ctx context.Context, s *engine.SwarmService) error
	RemoveSwarmService(ctx context.Context, id string) error
	SwarmTasks(ctx context.Context, serviceID string) ([]engine.SwarmTask, error)
	SwarmServiceLogs(ctx context.Context, id string, tail int) (string, error)
	FollowSwarmServiceLogs(ctx context.Context, id string, line func(string)) error
	SwarmNodes(ctx context.Context) (map[string]string, error)
	SwarmServiceNames(ctx context.Context) ([]string, error)
	ResolveImage(ctx context.Context, ref string) (string, error)
}

// Deps are a Swarm swap's side effects. Routes, Traefik and History are
// the container swap's own.
type Deps struct {
	Cluster Cluster
	// Images inspects the new image on this manager, for its HEALTHCHECK
	// and exposed ports; an image missing here is not an error (the nodes
	// may have it).
	Images  swap.Images
	Routes  swap.Routes
	Traefik swap.Traefik
	History swap.History
	// Metrics reads Traefik's per-service counters, which judge canary
	// steps (canary.go); nil when dswap does not know where they are.
	Metrics swap.Metrics
	// TraefikNetworks maps the IDs of the Traefik container's networks to
	// their names: the route names each task by its address on one of
	// them.
	TraefikNetworks map[string]string
	TraefikVersion  labels.TraefikVersion
	Log             *slog.Logger
	// Holder names this dswap in the service's lock label.
	Holder string
	// LockWait bounds the wait for a lock another dswap holds.
	LockWait time.Duration
	// Poll is how often tasks are listed while waiting (default 250ms):
	// Swarm's events do not cover tasks on other nodes.
	Poll time.Duration
	// Now is the clock (tests set it).
	Now func() time.Time
}

// Swapper runs one Swarm swap. Make a new one per swap.
type Swapper struct {
	Deps
	log   *slog.Logger
	cfg   swap.Config
	steps []swap.Step
	phase swap.Phase
	// heldLock is the value of the service's lock label this swap wrote.
	heldLock string
	// monitorBaseline is Traefik's metrics as first read by a swap whose
	// --monitor judges them (checkMonitor).
	monitorBaseline *traefik.Snapshot
}

// New returns a Swapper for one swap.
func New(d Deps) *Swapper {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Poll <= 0 {
		d.Poll = 250 * time.Millisecond
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Swapper{Deps: d, log: d.Log}
}

func (s *Swapper) enter(p swap.Phase, note string, attrs ...any) {
	s.phase = p
	s.steps = append(s.steps, swap.Step{Phase: p, At: s.Now(), Note: note})
	s.log.Info(note, append([]any{"phase", p.String()}, attrs...)...)
}

// Labels dswap sets on Swarm services.
const (
	// LockLabel on the user's service holds its lock: "HOLDER/UNIX-TIME".
	LockLabel = "dswap.lock"
	// BridgeOfLabel marks a bridge service with the service it bridges.
	BridgeOfLabel = "dswap.bridge-of"
	// BridgeImageLabel records the image the bridge rolls out.
	BridgeImageLabel = "dswap.bridge-image"
)

// BridgeName is the name of the bridge service of the service name.
func BridgeName(name string) string { return name + "-dswap" }

// IsService says whether name is a Swarm service this Engine manages: the
// Engine is a Swarm manager and a service of that name exists. A bridge
// service is not one, nor a release task's one-off service: they are
// dswap's, addressed through their service.
func IsService(ctx context.Context, c Cluster, name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	node, err := c.SwarmNode(ctx)
	if err != nil {
		return false, err
	}
	if !node.Manager {
		return false, nil
	}
	svc, err := c.SwarmService(ctx, name)
	switch {
	case isNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return svc.Name == name && svc.Labels[BridgeOfLabel] == "" && svc.Labels[swap.TaskServiceLabel] == "", nil
}
