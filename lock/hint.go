package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// hint adds to an error of the lock directory what the user can do: the
// error alone ("permission denied", "no space left on device") names
// neither the user nor the filesystem.
func hint(err error, dir string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w; the lock directory %s (beside the route files) is not writable by the user dswap runs as (uid %d): make the routes directory and it writable by that user, or run dswap as a user that can write there", err, dir, os.Getuid())
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w; the lock directory %s (beside the route files) is on a read-only filesystem: mount the routes directory read-write for dswap", err, dir)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w; the filesystem of the routes directory is full (dswap could not write its lock in %s): free space on it (df %s), then run the command again", err, dir, dir)
	}
	return err
}
