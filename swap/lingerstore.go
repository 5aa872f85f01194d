package swap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LingerDir keeps linger records as one JSON file per container in a
// directory: the routes directory's state directory, which the CLI, the
// sidecar and dswap keep all see. Traefik reads only *.yml, *.yaml and
// *.toml files there, never these.
type LingerDir struct {
	Path string
}

const lingerSuffix = ".linger.json"

func (d LingerDir) file(id string) string { return filepath.Join(d.Path, id+lingerSuffix) }

// Put writes a record; a reader never sees half of it (written beside,
// then renamed).
func (d LingerDir) Put(l Linger) error {
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := d.file(l.ContainerID) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("recording lingering container %s: %w", l.Container, err)
	}
	if err := os.Rename(tmp, d.file(l.ContainerID)); err != nil {
		return fmt.Errorf("recording lingering container %s: %w", l.Container, err)
	}
	return nil
}

// Remove deletes a record; a missing one is fine.
func (d LingerDir) Remove(id string) error {
	if err := os.Remove(d.file(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// List returns the records, oldest linger first.
func (d LingerDir) List() ([]Linger, error) {
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Linger
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), lingerSuffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d.Path, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // finished meanwhile
		}
		if err != nil {
			return nil, err
		}
		var l Linger
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("linger record %s: %w", e.Name(), err)
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}
