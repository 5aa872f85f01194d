package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// Bounds on what the sidecar keeps in memory.
const (
	// maxRecords bounds one swap's kept progress records; a pull of a
	// large image logs one per layer state change, far below this.
	maxRecords = 5000
	// keepFinished is how many finished swaps can still be followed.
	keepFinished = 100
)

// run is one swap or rollback the sidecar started: its progress records,
// kept so that a client that subscribes late still sees them all, and its
// outcome once it ends.
type run struct {
	ID      string
	Kind    string // swap, rollback, promote or abort
	Service string
	Image   string
	Trigger string // api, registry, github, poll
	Started time.Time

	cancel context.CancelFunc
	// released is guarded by the runs' mutex, not the run's.
	released bool

	mu       sync.Mutex
	records  [][]byte
	dropped  int
	changed  chan struct{} // closed and replaced on every change
	outcome  *Outcome
	finished time.Time
}

func newRun(kind, service, image, trigger string) *run {
	return &run{ID: newRunID(), Kind: kind, Service: service, Image: image, Trigger: trigger, Started: time.Now().UTC(), changed: make(chan struct{})}
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// add keeps one encoded record.
func (r *run) add(rec []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) >= maxRecords {
		r.dropped++
		return
	}
	r.records = append(r.records, rec)
	r.signal()
}

func (r *run) finish(o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcome = &o
	r.finished = time.Now().UTC()
	r.signal()
}

func (r *run) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// since returns the records from index i on, the channel that is closed
// at the next change, and the outcome if the run has ended.
func (r *run) since(i int) ([][]byte, <-chan struct{}, *Outcome, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var recs [][]byte
	if i < len(r.records) {
		recs = r.records[i:len(r.records):len(r.records)]
	}
	return recs, r.changed, r.outcome, r.dropped
}

// runView is a run as GET /v1/swaps shows it.
type runView struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"` // swap, rollback, promote or abort
	Service  string     `json:"service"`
	Image    string     `json:"image,omitempty"`
	Trigger  string     `json:"trigger"` // api, registry, github, poll
	Started  time.Time  `json:"started"`
	State    string     `json:"state"` // running or done
	Finished *time.Time `json:"finished,omitempty"`
	Outcome  *Outcome   `json:"outcome,omitempty"`
}

func (r *run) view() runView {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := runView{ID: r.ID, Kind: r.Kind, Service: r.Service, Image: r.Image, Trigger: r.Trigger, Started: r.Started, State: "running", Outcome: r.outcome}
	if r.outcome != nil {
		v.State = "done"
		f := r.finished
		v.Finished = &f
	}
	return v
}

// runs are the sidecar's swaps, running and recently finished.
type runs struct {
	mu       sync.Mutex
	byID     map[string]*run
	finished []string // oldest first
	active   map[string]int
	wg       sync.WaitGroup
}

func newRuns() *runs {
	return &runs{byID: map[string]*run{}, active: map[string]int{}}
}

func (rs *runs) add(r *run) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.byID[r.ID] = r
	rs.active[r.Service]++
	rs.wg.Add(1)
}

// release ends the run's claim on its service and on the sidecar's
// capacity. It comes before the run's outcome is published, so that a
// client that waited for the outcome and at once starts another swap is
// not refused as busy by a run that has in fact ended.
func (rs *runs) release(r *run) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r.released {
		return
	}
	r.released = true
	if rs.active[r.Service]--; rs.active[r.Service] <= 0 {
		delete(rs.active, r.Service)
	}
}

// done ends the run for good; it releases it first if that has not
// happened yet (a run that panicked).
func (rs *runs) done(r *run) {
	rs.release(r)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.finished = append(rs.finished, r.ID)
	for len(rs.finished) > keepFinished {
		delete(rs.byID, rs.finished[0])
		rs.finished = rs.finished[1:]
	}
	rs.wg.Done()
}

func (rs *runs) get(id string) (*run, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.byID[id]
	return r, ok
}

// busy says whether a run of the service is going on in this sidecar.
func (rs *runs) busy(service string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.active[service] > 0
}

func (rs *runs) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for _, c := range rs.active {
		n += c
	}
	return n
}

// list returns every known run, newest first.
func (rs *runs) list() []runView {
	rs.mu.Lock()
	all := make([]*run, 0, len(rs.byID))
	for _, r := range rs.byID {
		all = append(all, r)
	}
	rs.mu.Unlock()
	out := make([]runView, 0, len(all))
	for _, r := range all {
		out = append(out, r.view())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out
}

// wait blocks until every run has ended or ctx ends.
func (rs *runs) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { rs.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
