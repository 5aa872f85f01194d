// Package history keeps the record of a service's swaps. Docker forgets a
// container once it is removed, and labels cannot change after a container
// is created, so the outcome of a swap has to be written somewhere else; it
// goes beside the route files dswap already owns, one JSON line per swap.
package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Entry is one swap.
type Entry struct {
	ID          string        `json:"id"`
	Service     string        `json:"service"`
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"duration_ns"`
	Result      string        `json:"result"` // swapped, failed, rolled-back, recovered (finished by the next command after a crash), lingered
	FromImage   string        `json:"from_image,omitempty"`
	FromImageID string        `json:"from_image_id,omitempty"`
	ToImage     string        `json:"to_image"`
	ToImageID   string        `json:"to_image_id,omitempty"`
	ToDigest    string        `json:"to_digest,omitempty"`
	Containers  []string      `json:"containers,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	// Connections is, for a linger, the most open connections it carried.
	Connections int `json:"connections,omitempty"`
	// Tasks are the release tasks the swap ran, with their last output.
	Tasks []Task `json:"tasks,omitempty"`
	// Canary are the swap's canary steps, as judged.
	Canary []CanaryStep `json:"canary,omitempty"`
}

// CanaryStep is one canary step: the new version's weight, what it got
// over the step and the verdict, with the figures in Reason, and a
// Warning when it passed unjudged.
type CanaryStep struct {
	Weight   int           `json:"weight"`
	Duration time.Duration `json:"duration_ns"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	P99      string        `json:"p99,omitempty"`
	Verdict  string        `json:"verdict"`
	Reason   string        `json:"reason,omitempty"`
	Warning  string        `json:"warning,omitempty"`
}

// Task is one release task of a swap.
type Task struct {
	Stage    string        `json:"stage"`
	Command  string        `json:"command"`
	ExitCode int           `json:"exit_code"`
	Duration time.Duration `json:"duration_ns"`
	Failure  string        `json:"failure,omitempty"`
	Output   []string      `json:"output,omitempty"`
}

// Store keeps histories in a directory.
type Store struct {
	Dir string
}

// maxEntries bounds a history file; older entries are dropped.
const maxEntries = 200

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func (s Store) path(service string) string {
	return filepath.Join(s.Dir, "history-"+unsafeName.ReplaceAllString(service, "_")+".jsonl")
}

// Append adds an entry to the service's history.
func (s Store) Append(service string, e Entry) error {
	entries, err := s.Read(service)
	if err != nil {
		return err
	}
	entries = append(entries, e)
	if len(entries) > maxEntries {
		entries = entries[len(entries)-maxEntries:]
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("writing history of %s: %w", service, err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".history-*.tmp")
	if err != nil {
		return fmt.Errorf("writing history of %s: %w", service, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing history of %s: %w", service, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing history of %s: %w", service, err)
	}
	return os.Rename(tmp.Name(), s.path(service))
}

// Read returns the service's history, oldest first.
func (s Store) Read(service string) ([]Entry, error) {
	f, err := os.Open(s.path(service))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", service, err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}
