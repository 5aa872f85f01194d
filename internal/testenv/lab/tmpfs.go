package lab

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// mountTmpfs mounts a tmpfs of size (e.g. "1m") on dir, so that a test can
// fill the routes directory; Traefik's container, started afterwards,
// bind-mounts the tmpfs.
func mountTmpfs(ctx context.Context, dir, size string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mounting a tmpfs of %s on the routes directory %s (needs root): %w: %s", size, dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// unmountTmpfs unmounts the routes directory's tmpfs.
func unmountTmpfs(ctx context.Context, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "umount", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("unmounting the tmpfs on %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}
