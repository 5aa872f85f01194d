package server

import (
	"sort"
	"time"
)

// debouncer collects events per key and says when a key is due: after a
// quiet period with no new event for it, but no later than maxWait after
// its first event, so that a service whose containers never stop changing
// is still looked at. It is plain data; the keeper drives it with one timer.
type debouncer struct {
	quiet   time.Duration
	maxWait time.Duration
	pending map[string]*pendingKey
}

type pendingKey struct {
	first, last time.Time
	// notBefore delays a retry (the lock was held) without counting as
	// an event.
	notBefore time.Time
}

func newDebouncer(quiet, maxWait time.Duration) *debouncer {
	if maxWait < quiet {
		maxWait = quiet
	}
	return &debouncer{quiet: quiet, maxWait: maxWait, pending: map[string]*pendingKey{}}
}

// add records an event for key at now.
func (d *debouncer) add(key string, now time.Time) {
	if p, ok := d.pending[key]; ok {
		p.last = now
		return
	}
	d.pending[key] = &pendingKey{first: now, last: now}
}

// retry makes key due again at the given time, unless it is pending anyway.
func (d *debouncer) retry(key string, at time.Time) {
	if p, ok := d.pending[key]; ok {
		if at.After(p.notBefore) {
			p.notBefore = at
		}
		return
	}
	d.pending[key] = &pendingKey{first: at, last: at.Add(-d.quiet), notBefore: at}
}

func (d *debouncer) dueAt(p *pendingKey) time.Time {
	at := p.last.Add(d.quiet)
	if limit := p.first.Add(d.maxWait); limit.Before(at) {
		at = limit
	}
	if p.notBefore.After(at) {
		at = p.notBefore
	}
	return at
}

// due removes and returns the keys due at now, sorted.
func (d *debouncer) due(now time.Time) []string {
	var out []string
	for k, p := range d.pending {
		if !d.dueAt(p).After(now) {
			out = append(out, k)
			delete(d.pending, k)
		}
	}
	sort.Strings(out)
	return out
}

// next returns when the earliest pending key is due; ok is false when
// nothing is pending.
func (d *debouncer) next() (at time.Time, ok bool) {
	for _, p := range d.pending {
		if t := d.dueAt(p); !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	return at, ok
}
