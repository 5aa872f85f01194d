package server

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// hookStateFile is where the sidecar keeps what its webhooks have done,
// in its state directory (the routes directory's private .dswap).
const hookStateFile = "hooks.json"

// maxSeenEvents bounds the event identities kept: registries and GitHub
// retry within hours, and a few hundred deliveries cover that.
const maxSeenEvents = 512

// runMark identifies the GitHub workflow run a service last got from a
// hook, so that a run older than it (a late or replayed delivery) does
// not deploy an older image.
type runMark struct {
	ID      int64     `json:"id"`
	Attempt int       `json:"attempt"`
	Number  int       `json:"number"`
	Created time.Time `json:"created"`
}

// newerThan says whether run m comes after run old: a later attempt of
// the same run, or a run created later (the run number breaks a tie).
func (m runMark) newerThan(old runMark) bool {
	if m.ID == old.ID {
		return m.Attempt > old.Attempt
	}
	if !m.Created.Equal(old.Created) {
		return m.Created.After(old.Created)
	}
	return m.Number > old.Number
}

// hookState remembers the events webhooks acted on, so that one sent
// again (registries and GitHub retry; anyone who captured a signed body
// can resend it) does not swap twice, and the workflow run each service
// last got. An event counts as seen only once its swaps have started: a
// delivery refused with 503 is taken when it is sent again. It is kept
// in a small file, so that a restart forgets nothing.
type hookState struct {
	mu      sync.Mutex
	path    string
	max     int
	log     *slog.Logger
	order   []string
	set     map[string]bool
	pending map[string]bool
	runs    map[string]runMark
}

type hookStateDoc struct {
	Seen []string           `json:"seen"`
	Runs map[string]runMark `json:"runs,omitempty"`
}

// loadHookState reads the state file at path ("" keeps the state in
// memory only). A missing or unreadable file starts empty, and says so.
func loadHookState(path string, max int, log *slog.Logger) *hookState {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &hookState{path: path, max: max, log: log, set: map[string]bool{}, pending: map[string]bool{}, runs: map[string]runMark{}}
	if path == "" {
		return s
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if !os.IsNotExist(err) {
			log.Warn("webhook state not read: deliveries seen before this start may be acted on again", "file", path, "error", err)
		}
		return s
	}
	var doc hookStateDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		log.Warn("webhook state is not valid JSON: deliveries seen before this start may be acted on again", "file", path, "error", err)
		return s
	}
	for _, id := range doc.Seen {
		s.remember(id)
	}
	for svc, m := range doc.Runs {
		s.runs[svc] = m
	}
	return s
}

// reserve reports whether id is new, and holds it until commit or
// release, so that the same event sent twice at once swaps once.
func (s *hookState) reserve(id string) bool {
	if id == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set[id] || s.pending[id] {
		return false
	}
	s.pending[id] = true
	return true
}

// release forgets reserved ids whose swaps did not start.
func (s *hookState) release(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.pending, id)
	}
}

// commit marks reserved ids as seen and records the runs services got,
// and writes the state file.
func (s *hookState) commit(ids []string, marks map[string]runMark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.pending, id)
		if id != "" {
			s.remember(id)
		}
	}
	for svc, m := range marks {
		s.runs[svc] = m
	}
	s.save()
}

// newer says whether a workflow run is newer than what service last got.
func (s *hookState) newer(service string, m runMark) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.runs[service]
	return !ok || m.newerThan(old)
}

func (s *hookState) remember(id string) {
	if s.set[id] {
		return
	}
	s.set[id] = true
	s.order = append(s.order, id)
	for len(s.order) > s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
}

// save writes the state file atomically (a temporary file renamed over
// it), readable by its owner only. A failure is logged: the webhooks keep
// working, with what is in memory.
func (s *hookState) save() {
	if s.path == "" {
		return
	}
	b, err := json.Marshal(hookStateDoc{Seen: s.order, Runs: s.runs})
	if err == nil {
		err = writePrivate(s.path, b)
	}
	if err != nil {
		s.log.Warn("webhook state not saved: after a restart, deliveries seen now may be acted on again", "file", s.path, "error", err)
	}
}

func writePrivate(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
