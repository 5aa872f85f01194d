package torture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/dswap-dev/dswap/labels"
)

// background is a long-lived dswap the harness runs beside the swaps.
type background struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
	path string // its log
}

// startKeeper runs `dswap keep` and waits until it holds the routes
// directory's keeper lock.
func (r *runner) startKeeper(ctx context.Context) (*background, error) {
	logf, err := os.CreateTemp("", "dswap-torture-keep-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.dswap.bin, "keep")
	cmd.Env = r.dswap.env
	if r.dswap.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.dswap.cred}
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting dswap keep: %w", err)
	}
	b := &background{cmd: cmd, done: make(chan struct{}), log: logf, path: logf.Name()}
	go func() { _ = cmd.Wait(); close(b.done) }()
	lockFile := filepath.Join(r.lab.RoutesDir, ".dswap", "route-keeper.flock")
	deadline := time.Now().Add(time.Minute)
	for {
		if held, err := lockHeld(lockFile); err == nil && held {
			return b, nil
		}
		select {
		case <-b.done:
			out, _ := os.ReadFile(b.path)
			b.stop()
			return nil, fmt.Errorf("dswap keep exited at start: %s", lastLines(string(out), 10))
		default:
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, errors.New("dswap keep did not take the keeper lock within a minute")
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			b.stop()
			return nil, err
		}
	}
}

// stop ends the background dswap.
func (b *background) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	b.log.Close()
	_ = os.Remove(b.path)
}

// keeperBound is how long the keeper may take to route the service's
// containers again after a daemon restart: its event stream broke with
// the daemon and is subscribed again with a backoff (1 s, 2 s, 4 s, ...),
// then the container's health, and Traefik's reload.
const keeperBound = 30 * time.Second

// awaitKeeper waits until the route file names exactly the service's
// running container (by name or by one of its IPs now) and Traefik shows
// it: the keeper's work after a daemon restart.
func (r *runner) awaitKeeper(ctx context.Context) error {
	deadline := time.Now().Add(keeperBound)
	last := ""
	for {
		ok, why := r.routeFollows(ctx)
		if ok {
			return nil
		}
		last = why
		if time.Now().After(deadline) {
			return fmt.Errorf("with the keeper running, the route did not follow the daemon restart within %s: %s", keeperBound, last)
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// routeFollows says whether the route file and Traefik name the running
// container of the service as it is now.
func (r *runner) routeFollows(ctx context.Context) (bool, string) {
	cs, err := r.lab.ContainersOf(ctx, "dswap.service="+r.service)
	if err != nil {
		return false, err.Error()
	}
	var addrs []string
	for _, c := range cs {
		if c.State != "running" {
			continue
		}
		addrs = append(addrs, c.Name)
		if in, err := r.lab.Docker.ContainerInspect(ctx, c.ID); err == nil && in.NetworkSettings != nil {
			for _, n := range in.NetworkSettings.Networks {
				if n != nil && n.IPAddress != "" {
					addrs = append(addrs, n.IPAddress)
				}
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(r.lab.RoutesDir, r.routeFile()))
	if err != nil {
		return false, err.Error()
	}
	rf, err := labels.ReadRouteFile(b)
	if err != nil {
		return false, err.Error()
	}
	hosts := rf.Hosts()
	for _, h := range hosts {
		if !contains(addrs, h) {
			return false, fmt.Sprintf("the route file names %v; the running container answers to %v", hosts, addrs)
		}
	}
	servers, err := r.traefikServers(ctx)
	if err != nil || !equal(servers, sortedCopy(hosts)) {
		return false, fmt.Sprintf("Traefik routes to %v (%v), the route file names %v", servers, err, hosts)
	}
	return len(hosts) == 1, fmt.Sprintf("the route file names %v", hosts)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
