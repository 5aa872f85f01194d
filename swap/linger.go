package swap

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
)

// With --keep-connections an old container is not stopped at the flip
// while it still holds open client connections (WebSocket, SSE, other
// upgraded or streaming connections that Traefik keeps to a server it no
// longer routes to): it lingers, unrouted and without a stop signal, until
// its last connection closes or the bound passes, then it is drained and
// removed as in a swap without the setting.
//
// A lingering container is recorded in the routes directory's state
// directory (Lingers), one record per container, written before the swap
// reports its result. Container labels would be the natural place, but
// they cannot change after creation, and the route file is rewritten by
// every writer (swaps, the keeper) and read by Traefik, so the record sits
// beside the keeper's lock and the webhooks' state instead. The record is
// what survives a crash: whoever finishes lingers next (the keeper, or the
// next dswap up) stops what is past its bound and watches the rest.
//
// A lingering container is no longer part of its service: the Docker view
// a Swapper gets hides it (hideLingering), so no swap, sync or keeper ever
// routes it again, counts it as an old container to replace, or stops it
// as the leftover of an interrupted swap. Several generations can linger
// at once (v1 and v2 while v3 serves), each with its own bound.

// Linger is the record of one lingering container.
type Linger struct {
	// Service is the service's key (for its history), Ref how FindService
	// finds it.
	Service     string        `json:"service"`
	Ref         string        `json:"ref"`
	ContainerID string        `json:"container_id"`
	Container   string        `json:"container"`
	Image       string        `json:"image"`
	Number      int           `json:"compose_number,omitempty"`
	Port        int           `json:"port"`
	Since       time.Time     `json:"since"`
	Until       time.Time     `json:"until"`
	Drain       time.Duration `json:"drain_ns"`
	// AtFlip is how many connections it held at the flip, Open how many
	// at the last look, Peak the most seen.
	AtFlip int       `json:"at_flip"`
	Open   int       `json:"open"`
	Peak   int       `json:"peak"`
	Seen   time.Time `json:"seen"`
}

// Lingers stores the records of lingering containers.
type Lingers interface {
	Put(l Linger) error
	Remove(containerID string) error
	List() ([]Linger, error)
}

// ConnCounter counts the established TCP connections on a local port in the
// network namespace of a process (engine.Connections).
type ConnCounter interface {
	Established(pid, port int) (int, error)
}

// LingerPoll is how often a lingering container's connections are counted:
// the container gets its stop signal within this (plus one look's cost) of
// its last connection closing.
const LingerPoll = 500 * time.Millisecond

// hideLingering is the Engine as a swap sees it: without the lingering
// containers, which belong to no service any more.
type hideLingering struct {
	Docker
	lingers Lingers
}

func (h hideLingering) List(ctx context.Context, f engine.ListFilter) ([]*engine.Container, error) {
	all, err := h.Docker.List(ctx, f)
	if err != nil {
		return nil, err
	}
	recs, err := h.lingers.List()
	if err != nil {
		return nil, fmt.Errorf("reading which containers linger: %w", err)
	}
	if len(recs) == 0 {
		return all, nil
	}
	return slices.DeleteFunc(all, func(c *engine.Container) bool {
		return slices.ContainsFunc(recs, func(l Linger) bool { return l.ContainerID == c.ID })
	}), nil
}

// reserveLingering keeps new containers from taking a lingering one's name
// (or compose number): it still exists, though hidden.
func (s *Swapper) reserveLingering(n *namer) {
	if s.Lingers == nil {
		return
	}
	recs, err := s.Lingers.List()
	if err != nil {
		return // the create then fails with the Engine's name conflict
	}
	for _, l := range recs {
		n.taken[l.Container] = true
		if l.Number > 0 {
			n.numbers = append(n.numbers, l.Number)
		}
	}
}

// drainOrLinger retires the old containers of a batch after the flip: with
// --keep-connections those still holding connections linger, the others
// are drained at once.
func (s *Swapper) drainOrLinger(ctx context.Context, p *plan, old []*engine.Container, res *Result) ([]DrainOutcome, error) {
	if s.cfg.KeepConnections <= 0 || s.Lingers == nil || s.Conns == nil {
		return s.drain(ctx, old)
	}
	port := servicePort(p.routing)
	var now []*engine.Container
	for _, c := range old {
		fresh, err := s.Docker.Inspect(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		n, err := s.Conns.Established(fresh.State.Pid, port)
		if err != nil {
			s.log.Warn("cannot count the old container's connections; draining it now", "phase", PhaseDrain.String(), "container", c.Name, "reason", err)
			now = append(now, c)
			continue
		}
		if n == 0 {
			now = append(now, c)
			continue
		}
		at := time.Now()
		l := Linger{Service: p.svc.Key(), Ref: p.svc.Ref(), ContainerID: c.ID, Container: c.Name, Image: c.Image, Port: port,
			Since: at.UTC(), Until: at.Add(s.cfg.KeepConnections).UTC(), Drain: s.cfg.Drain, AtFlip: n, Open: n, Peak: n, Seen: at.UTC()}
		if id, ok := compose.FromLabels(c.Labels); ok {
			l.Number = id.Number
		}
		if err := s.Lingers.Put(l); err != nil {
			s.log.Warn("cannot record the lingering container; draining it now", "phase", PhaseDrain.String(), "container", c.Name, "reason", err)
			now = append(now, c)
			continue
		}
		s.log.Info("old container lingers: unrouted, no stop signal, while it holds open connections", "phase", PhaseDrain.String(),
			"container", c.Name, "connections", n, "port", port, "until", l.Until.Local().Format(time.RFC3339))
		res.Lingering = append(res.Lingering, l)
	}
	return s.drain(ctx, now)
}

// servicePort is the container port Traefik's servers connect to: the
// first service's, as the route file names it.
func servicePort(r *labels.Routing) int {
	for _, urls := range r.ServerURLs([]labels.Target{{Host: "x"}}) {
		for _, raw := range urls {
			if u, err := url.Parse(raw); err == nil {
				if p, err := strconv.Atoi(u.Port()); err == nil {
					return p
				}
			}
		}
	}
	return 0
}

// LingerEnd says how one linger ended.
type LingerEnd struct {
	Linger
	Ended  time.Time
	Reason string // "connections closed", "bound reached", "container gone"
	Drain  DrainOutcome
}

// FinishLingers watches the lingering containers (those of ids, or all when
// ids is empty), counting their connections every LingerPoll, and drains
// and removes each once its connections are closed or its bound passed.
// With untilDone it returns once none of them lingers; otherwise (the
// keeper) it runs until ctx ends. ended is called after each one.
func (s *Swapper) FinishLingers(ctx context.Context, ids []string, untilDone bool, ended func(LingerEnd)) error {
	if s.Lingers == nil || s.Conns == nil {
		return nil
	}
	tick := time.NewTicker(LingerPoll)
	defer tick.Stop()
	for {
		left, err := s.LookAtLingers(ctx, ids, false, ended)
		if err != nil {
			return err
		}
		if untilDone && len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// LookAtLingers looks once at the lingering containers (those of ids, or
// all when ids is empty) and finishes those whose connections are closed or
// whose bound passed; with stopNow it finishes them all (an interrupted
// wait). It returns the records still lingering.
func (s *Swapper) LookAtLingers(ctx context.Context, ids []string, stopNow bool, ended func(LingerEnd)) ([]Linger, error) {
	if s.Lingers == nil || s.Conns == nil {
		return nil, nil
	}
	recs, err := s.Lingers.List()
	if err != nil {
		return nil, fmt.Errorf("reading which containers linger: %w", err)
	}
	var left []Linger
	for _, l := range recs {
		if len(ids) > 0 && !slices.Contains(ids, l.ContainerID) {
			continue
		}
		done, err := s.lookAtLinger(ctx, l, stopNow, ended)
		if err != nil {
			s.log.Warn("could not finish a lingering container; trying again", "container", l.Container, "error", err)
		}
		if !done {
			left = append(left, l)
		}
	}
	return left, nil
}

// lookAtLinger counts one lingering container's connections and, when they
// are closed or its bound passed, stops it with its drain window and
// removes it. It says whether the linger is over.
func (s *Swapper) lookAtLinger(ctx context.Context, l Linger, stopNow bool, ended func(LingerEnd)) (bool, error) {
	now := time.Now()
	c, err := s.Docker.Inspect(ctx, l.ContainerID)
	reason := ""
	switch {
	case errors.Is(err, engine.ErrNotFound):
		reason = "container gone"
	case err != nil:
		return false, err
	case !c.State.Running:
		reason = "container exited"
	case !now.Before(l.Until):
		reason = "bound reached"
	case stopNow:
		reason = "stopped on request"
	default:
		n, err := s.Conns.Established(c.State.Pid, l.Port)
		if err != nil {
			return false, err
		}
		if n == 0 {
			reason = "connections closed"
			break
		}
		if n != l.Open {
			l.Open, l.Peak, l.Seen = n, max(l.Peak, n), now.UTC()
			_ = s.Lingers.Put(l) // only what status shows; the next look writes it again
		}
		return false, nil
	}
	end := LingerEnd{Linger: l, Ended: now, Reason: reason}
	if c != nil {
		// The drain must finish even if the keeper or dswap is stopped now.
		stopCtx := context.WithoutCancel(ctx)
		s.cfg.Drain = l.Drain
		s.log.Info("lingering container done; stopping it", "phase", PhaseDrain.String(), "container", l.Container, "why", reason, "lingered", round(now.Sub(l.Since)), "peak connections", l.Peak)
		outs, err := s.stopAll(stopCtx, []*engine.Container{c})
		if err != nil {
			return false, err
		}
		if len(outs) > 0 {
			end.Drain = outs[0]
		}
		if err := s.removeAll(stopCtx, []*engine.Container{c}); err != nil {
			return false, err
		}
	}
	if err := s.Lingers.Remove(l.ContainerID); err != nil {
		return false, err
	}
	s.recordLinger(end)
	if ended != nil {
		ended(end)
	}
	return true, nil
}

// recordLinger adds the end of a linger to the service's history: how long
// the old container lingered and how many connections it carried.
func (s *Swapper) recordLinger(e LingerEnd) {
	if s.History == nil {
		return
	}
	entry := history.Entry{
		ID: "linger-" + shortID(e.ContainerID), Service: e.Ref, Started: e.Since, Duration: e.Ended.Sub(e.Since),
		Result: "lingered", FromImage: e.Image, Containers: []string{e.Container},
		Connections: e.Peak,
		Reason:      fmt.Sprintf("%d connection(s) at the flip, at most %d; ended: %s", e.AtFlip, e.Peak, e.Reason),
	}
	if err := s.History.Append(e.Service, entry); err != nil {
		s.log.Warn("could not record the linger in the service's history", "error", err)
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// DescribeLinger is one line for a person: the container, its open
// connections and since when.
func DescribeLinger(l Linger, now time.Time) string {
	return fmt.Sprintf("%s (%s): %d open connection(s) on port %d, lingering since %s (%s ago), stopped at the latest %s (in %s)",
		l.Container, l.Image, l.Open, l.Port, l.Since.Local().Format(time.TimeOnly), round(now.Sub(l.Since)),
		l.Until.Local().Format(time.TimeOnly), round(max(l.Until.Sub(now), 0)))
}

// LingerNames lists the containers of records.
func LingerNames(ls []Linger) string {
	var names []string
	for _, l := range ls {
		names = append(names, l.Container)
	}
	return strings.Join(names, ", ")
}
