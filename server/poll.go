package server

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/distribution/reference"

	"github.com/dswap-dev/dswap/engine"
)

// Poll watches one tag in its registry, watchtower-like: when the image
// the tag names there differs from what the service runs, the service is
// swapped to it.
//
//	--poll 'service=web,image=registry.example.com/acme/app:latest,every=30s'
type Poll struct {
	Service string
	Image   string // with its tag; "latest" when none is given
	Every   time.Duration
}

// minPollEvery keeps a typo from hammering a registry.
const minPollEvery = 10 * time.Second

// ParsePoll reads one --poll value.
func ParsePoll(s string) (Poll, error) {
	p := Poll{Every: time.Minute}
	fields, err := keyValues(s)
	if err != nil {
		return p, fmt.Errorf("--poll %q: %w", s, err)
	}
	for _, k := range sortedKeys(fields) {
		v := fields[k]
		switch k {
		case "service":
			p.Service = v
		case "image":
			named, err := reference.ParseNormalizedNamed(v)
			if err != nil {
				return p, fmt.Errorf("--poll %q: image %q: %w", s, v, err)
			}
			if _, ok := named.(reference.Digested); ok {
				return p, fmt.Errorf("--poll %q: image %q names a digest, which never changes; poll a tag", s, v)
			}
			p.Image = reference.FamiliarString(reference.TagNameOnly(named))
		case "every":
			d, err := time.ParseDuration(v)
			if err != nil {
				return p, fmt.Errorf("--poll %q: every=%s is not a duration such as 30s", s, v)
			}
			if d < minPollEvery {
				return p, fmt.Errorf("--poll %q: every=%s is below the minimum of %s", s, v, minPollEvery)
			}
			p.Every = d
		default:
			return p, fmt.Errorf("--poll %q: unknown key %q (want service, image, every)", s, k)
		}
	}
	switch {
	case p.Service == "":
		return p, fmt.Errorf("--poll %q: service= is required", s)
	case p.Image == "":
		return p, fmt.Errorf("--poll %q: image= is required, e.g. registry.example.com/acme/app:latest", s)
	}
	return p, nil
}

// Puller is what polling needs; SwapBackend is one.
type Puller interface {
	Pull(ctx context.Context, ref string, log *slog.Logger) (*engine.Image, error)
	RunningImageIDs(ctx context.Context, service string) ([]string, error)
}

// Swapper starts swaps; Server is one.
type Swapper interface {
	Busy(service string) bool
	Trigger(service, image string, pull engine.PullPolicy, trigger string) (string, error)
	// Result returns a swap's outcome once it has ended.
	Result(id string) (Outcome, bool)
}

// Poller runs one Poll until its context ends.
type Poller struct {
	Poll   Poll
	Puller Puller
	Swaps  Swapper
	Log    *slog.Logger

	lastErr string
	// pending is the swap this poller started and its image; failedID an
	// image whose swap failed, not tried again until the tag moves on.
	pending, pendingID, failedID string
}

// Run checks at once, then every Poll.Every.
func (p *Poller) Run(ctx context.Context) {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	p.Log.Info("polling a tag", "service", p.Poll.Service, "image", p.Poll.Image, "every", p.Poll.Every)
	ticker := time.NewTicker(p.Poll.Every)
	defer ticker.Stop()
	for {
		p.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Check pulls the tag once (through the Engine, with the sidecar's
// registry login) and swaps when its image is not what the service runs.
// The swap uses the image just pulled (pull never), so it deploys exactly
// what was compared. It returns the swap's id, if one started.
func (p *Poller) Check(ctx context.Context) string {
	if p.pending != "" {
		out, done := p.Swaps.Result(p.pending)
		if !done {
			return ""
		}
		if !out.Succeeded() {
			// A broken image would fail every interval; wait for a new one.
			p.failedID = p.pendingID
			p.Log.Warn("the swap to the polled tag failed; this image is not tried again until the tag changes", "service", p.Poll.Service, "image", p.Poll.Image, "id", shortID(p.pendingID), "error", out.Error)
		}
		p.pending, p.pendingID = "", ""
	}
	if p.Swaps.Busy(p.Poll.Service) {
		p.Log.Debug("a swap of the service is running; polling later", "service", p.Poll.Service)
		return ""
	}
	// A pull may not outlast the interval; the next tick tries again.
	pullCtx, cancel := context.WithTimeout(ctx, min(p.Poll.Every, 5*time.Minute))
	defer cancel()
	img, err := p.Puller.Pull(pullCtx, p.Poll.Image, p.Log.With("service", p.Poll.Service))
	if err != nil {
		p.report(ctx, "pulling the polled tag failed", err)
		return ""
	}
	running, err := p.Puller.RunningImageIDs(ctx, p.Poll.Service)
	if err != nil {
		p.report(ctx, "reading the service's containers failed", err)
		return ""
	}
	p.lastErr = ""
	if len(running) == 0 {
		p.Log.Debug("the polled service has no running container; not swapping", "service", p.Poll.Service)
		return ""
	}
	if !slices.ContainsFunc(running, func(id string) bool { return id != img.ID }) {
		p.Log.Debug("the polled tag is what the service runs", "service", p.Poll.Service, "image", p.Poll.Image, "id", shortID(img.ID))
		return ""
	}
	if img.ID == p.failedID {
		p.Log.Debug("the polled tag still names the image whose swap failed", "service", p.Poll.Service, "id", shortID(img.ID))
		return ""
	}
	p.Log.Info("the polled tag changed; swapping", "service", p.Poll.Service, "image", p.Poll.Image, "new id", shortID(img.ID), "running", shortIDs(running))
	id, err := p.Swaps.Trigger(p.Poll.Service, p.Poll.Image, engine.PullNever, "poll")
	if err != nil {
		p.report(ctx, "starting the swap failed", err)
		return ""
	}
	p.pending, p.pendingID = id, img.ID
	return id
}

// report logs a failure at warning level once, then at debug level while
// it repeats, so that an unreachable registry does not flood the log.
func (p *Poller) report(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil {
		return
	}
	level := slog.LevelWarn
	if err.Error() == p.lastErr {
		level = slog.LevelDebug
	}
	p.lastErr = err.Error()
	p.Log.Log(ctx, level, msg, "service", p.Poll.Service, "image", p.Poll.Image, "error", err)
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id)
	}
	return out
}
