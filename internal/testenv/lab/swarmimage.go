package lab

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
)

// BuildOnManager builds an image tagged tag on the manager's Engine from
// the build context in dir (its regular files, with their modes), with the
// legacy builder as BuildApp does. The image goes with the Engine when the
// Swarm is closed.
func (s *Swarm) BuildOnManager(ctx context.Context, tag, dir string) error {
	var files []contextFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, contextFile{Name: filepath.ToSlash(rel), Mode: int64(info.Mode().Perm()), Path: path})
		return nil
	})
	if err != nil {
		return fmt.Errorf("building image %s on the manager: reading the context %s: %w", tag, dir, err)
	}
	c, err := engineClient(s.Manager)
	if err != nil {
		return fmt.Errorf("building image %s on the manager: %w", tag, err)
	}
	defer c.Close()
	if _, err := buildImage(ctx, c, files, []string{tag}, prefixed(s.log, "swarm: manager: ")); err != nil {
		return fmt.Errorf("building image %s on the manager: %w", tag, err)
	}
	return nil
}
