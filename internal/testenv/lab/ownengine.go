package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// OwnEngine is a Docker Engine of a test's own, in a network namespace of
// its own, so that the test can restart it: the machine's own Engine is
// never stopped. It follows DESIGN.md ("Facts for Swarm"): dockerd started
// with nsenter --net (not `ip netns exec`, which remounts /sys and hides the
// cgroup mounts), an empty --config-file (the system's sets data-root), its
// own data-root, exec-root, pidfile, socket, containerd namespaces and
// cgroup parent, fuse-overlayfs, no default bridge. A veth pair joins the
// namespace to this one: HostIP here, NSIP there.
type OwnEngine struct {
	Name   string // netns name, also the prefix of everything else
	Dir    string // data-root, exec-root, socket, config live here
	Socket string // unix:///... for DOCKER_HOST
	HostIP string // this namespace's end of the veth
	NSIP   string // the Engine's namespace's end of the veth

	args []string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// engineNSIP is the address of the namespace's end of the veth of an
// Engine started with octets: 10.<a>.<b>.2.
func engineNSIP(octets [2]byte) string { return fmt.Sprintf("10.%d.%d.2", octets[0], octets[1]) }

// NetnsPath is the namespace's file, for nsenter --net=.
func (e *OwnEngine) NetnsPath() string { return "/var/run/netns/" + e.Name }

// Wrap is the command prefix that runs a program in the Engine's network
// namespace.
func (e *OwnEngine) Wrap() []string { return []string{"nsenter", "--net=" + e.NetnsPath(), "--"} }

// StartOwnEngine creates the namespace and veth (10.<a>.<b>.1/30 here,
// .2 there) and starts dockerd in it. dir must be a fresh directory on a
// filesystem fuse-overlayfs can use. dockerdArgs are added to dockerd's
// command line (e.g. --insecure-registry). Close undoes everything, also
// after a failed start.
func StartOwnEngine(ctx context.Context, name, dir string, octets [2]byte, dockerdArgs ...string) (*OwnEngine, error) {
	e := &OwnEngine{
		Name:   name,
		Dir:    dir,
		Socket: "unix://" + filepath.Join(dir, "docker.sock"),
		HostIP: fmt.Sprintf("10.%d.%d.1", octets[0], octets[1]),
		NSIP:   engineNSIP(octets),
	}
	hostVeth, nsVeth := "vh"+name, "vn"+name
	if len(hostVeth) > 15 {
		hostVeth, nsVeth = hostVeth[:15], nsVeth[:15]
	}
	steps := [][]string{
		{"ip", "netns", "add", name},
		{"ip", "link", "add", hostVeth, "type", "veth", "peer", "name", nsVeth},
		{"ip", "link", "set", nsVeth, "netns", name},
		{"ip", "addr", "add", e.HostIP + "/30", "dev", hostVeth},
		{"ip", "link", "set", hostVeth, "up"},
		{"ip", "netns", "exec", name, "ip", "addr", "add", e.NSIP + "/30", "dev", nsVeth},
		{"ip", "netns", "exec", name, "ip", "link", "set", nsVeth, "up"},
		{"ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return e, fmt.Errorf("own engine: %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	config := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o644); err != nil {
		return e, fmt.Errorf("own engine: %w", err)
	}
	e.args = []string{"nsenter", "--net=" + e.NetnsPath(), "--", "dockerd",
		"--config-file", config,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", e.Socket,
		"--containerd-namespace", name,
		"--containerd-plugins-namespace", name + "-plugins",
		"--cgroup-parent", name,
		"--storage-driver", "fuse-overlayfs",
		"--bridge=none",
	}
	e.args = append(e.args, dockerdArgs...)
	return e, e.Start(ctx)
}

// Start starts dockerd and waits until it answers.
func (e *OwnEngine) Start(ctx context.Context) error {
	log, err := os.OpenFile(filepath.Join(e.Dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("own engine: %w", err)
	}
	e.log = log
	e.cmd = exec.Command(e.args[0], e.args[1:]...)
	e.cmd.Stdout, e.cmd.Stderr = log, log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("own engine: starting %s: %w", strings.Join(e.args, " "), err)
	}
	e.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(e.cmd, e.done)
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return pollUntil(readyCtx, 200*time.Millisecond, func(ctx context.Context) (error, error) {
		select {
		case <-e.done:
			return nil, fmt.Errorf("own engine: dockerd exited at start; its log:\n%s", e.Logs())
		default:
		}
		out, err := exec.CommandContext(ctx, "docker", "-H", e.Socket, "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			return fmt.Errorf("docker -H %s version: %v: %s", e.Socket, err, out), nil
		}
		return nil, nil
	})
}

// Stop stops dockerd with SIGTERM (its containers stop with it) and waits
// up to a minute for it to exit, then kills it.
func (e *OwnEngine) Stop() error {
	if e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	defer func() { _ = e.log.Close() }()
	select {
	case <-e.done:
		return nil
	default:
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-e.done:
		return nil
	case <-t.C:
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
		return errors.New("own engine: dockerd did not stop within a minute of SIGTERM; killed it")
	}
}

// Logs returns dockerd's log so far.
func (e *OwnEngine) Logs() string {
	b, err := os.ReadFile(filepath.Join(e.Dir, "dockerd.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Close stops dockerd, unmounts what it left mounted under Dir, and deletes
// the namespace (which deletes the veth pair with it). Dir itself is the
// caller's to remove.
func (e *OwnEngine) Close() error {
	var errs []error
	if err := e.Stop(); err != nil {
		errs = append(errs, err)
	}
	if mounts, err := os.ReadFile("/proc/self/mounts"); err == nil {
		var under []string
		for _, line := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], e.Dir+"/") {
				under = append(under, f[1])
			}
		}
		for i := len(under) - 1; i >= 0; i-- {
			_ = syscall.Unmount(under[i], syscall.MNT_DETACH)
		}
	}
	if out, err := exec.Command("ip", "netns", "delete", e.Name).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("own engine: ip netns delete %s: %v: %s", e.Name, err, out))
	}
	return errors.Join(errs...)
}
