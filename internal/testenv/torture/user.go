package torture

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// asUser makes l run dswap as uid, with the docker group so that it
// reaches the Engine, and gives that user the routes directory and a home
// of its own, with a copy of the binary (the one given may sit in a
// directory only root can enter). It returns the home, to be removed.
func asUser(l *launcher, uid int, routesDir string) (string, error) {
	g, err := user.LookupGroup("docker")
	if err != nil {
		return "", fmt.Errorf("torture: running dswap as uid %d needs the docker group (the Engine's socket is its): %w", uid, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return "", fmt.Errorf("torture: docker group id %q: %w", g.Gid, err)
	}
	home, err := os.MkdirTemp("", "dswap-torture-home-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(home, "dswap")
	if err := copyFile(l.bin, bin, 0o755); err != nil {
		os.RemoveAll(home)
		return "", fmt.Errorf("torture: copying dswap for uid %d: %w", uid, err)
	}
	for _, dir := range []string{home, routesDir} {
		if err := chownTree(dir, uid, gid); err != nil {
			os.RemoveAll(home)
			return "", err
		}
	}
	l.bin = bin
	l.env = append(l.env, "HOME="+home)
	l.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}
	return home, nil
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("torture: giving %s to uid %d: %w", path, uid, err)
		}
		return nil
	})
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
