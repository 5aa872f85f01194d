package torture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// injected is what became of a drawn fault.
type injected struct {
	// At is when the fault struck; zero when the swap never reached its
	// moment (dswap ended first), which is reported as not reached.
	At time.Time
	// Until is when the fault's direct effect ended: Traefik answering
	// again after a restart, or unpaused. Requests failing between At
	// and Until (plus a grace period) count as unavoidable for the kinds
	// the table marks so.
	Until time.Time
	Note  string
	// Second is the concurrent dswap up, for FaultConcurrentUp.
	Second *dswapProc
	// Others are the swaps of other services, for FaultSeveralServices.
	Others []*dswapProc
	// BeforeFlip says the fault struck before dswap began its flip.
	BeforeFlip bool
	// undo puts right what the fault changed (the routes directory's
	// mode, a filler file) once dswap has exited, before the recovery.
	undo func() error
}

// pauseExtra is how long a paused Traefik stays paused beyond dswap's
// flip timeout, so that dswap's confirmation certainly runs out.
const pauseExtra = 2 * time.Second

// inject waits for the fault's moment in p's run and strikes. It returns
// when the fault has been applied and its direct effect is over (Traefik
// unpaused, a second dswap started), or when dswap ended before the moment.
func (r *runner) inject(ctx context.Context, f Fault, p *dswapProc, old string) (injected, error) {
	var inj injected
	if f.Kind == FaultNone {
		return inj, nil
	}
	select {
	case <-p.phase(f.Phase):
	case <-p.done:
		inj.Note = "dswap ended before phase " + f.Phase
		return inj, nil
	case <-ctx.Done():
		return inj, ctx.Err()
	}
	if f.Delay > 0 {
		// The delay is the drawn moment itself, not a wait for a state.
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-p.done:
			t.Stop()
			inj.Note = fmt.Sprintf("dswap ended within %s after phase %s", f.Delay, f.Phase)
			return inj, nil
		case <-ctx.Done():
			t.Stop()
			return inj, ctx.Err()
		}
	}
	select {
	case <-p.done:
		inj.Note = "dswap ended before the fault's moment"
		return inj, nil
	default:
	}
	inj.At = time.Now()
	inj.Until = inj.At
	select {
	case <-p.phase("flip"):
	default:
		inj.BeforeFlip = true
	}
	switch f.Kind {
	case FaultKillDswap:
		return inj, p.signal(syscall.SIGKILL)
	case FaultInterruptDswap:
		return inj, p.signal(syscall.SIGINT)
	case FaultKillNew:
		name := p.firstContainer("created")
		if name == "" {
			inj.At, inj.Note = time.Time{}, "no new container created yet"
			return inj, nil
		}
		inj.Note = "killed " + name
		return inj, r.dockerKill(ctx, name)
	case FaultKillOld:
		inj.Note = "killed " + old
		err := r.dockerKill(ctx, old)
		inj.Until = time.Now()
		return inj, err
	case FaultRestartTraefik:
		err := r.lab.RestartTraefik(ctx)
		if err == nil {
			err = r.awaitRoutesLoaded(ctx)
		}
		inj.Until = time.Now()
		return inj, err
	case FaultPauseTraefik:
		if err := r.lab.Docker.ContainerPause(ctx, r.lab.TraefikID); err != nil {
			return inj, fmt.Errorf("pausing traefik %s: %w", r.lab.TraefikName, err)
		}
		t := time.NewTimer(r.opts.FlipTimeout + pauseExtra)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		// Unpause even when ctx ended: a paused Traefik must not outlive
		// the fault.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := r.lab.Docker.ContainerUnpause(uctx, r.lab.TraefikID); err != nil {
			return inj, fmt.Errorf("unpausing traefik %s: %w", r.lab.TraefikName, err)
		}
		inj.Until = time.Now()
		inj.Note = fmt.Sprintf("paused %s", inj.Until.Sub(inj.At).Round(time.Millisecond))
		return inj, nil
	case FaultRoutesReadOnly:
		dir := r.lab.RoutesDir
		if err := os.Chmod(dir, 0o555); err != nil {
			return inj, fmt.Errorf("making the routes directory read-only: %w", err)
		}
		inj.Note = "routes directory read-only"
		inj.undo = func() error { return os.Chmod(dir, 0o755) }
		return inj, nil
	case FaultRoutesFull:
		filler := filepath.Join(r.lab.RoutesDir, ".dswap", "torture-filler")
		inj.undo = func() error { return os.Remove(filler) }
		n, err := fill(filler)
		inj.Note = fmt.Sprintf("routes filesystem filled (%d KiB)", n>>10)
		return inj, err
	case FaultRestartDocker:
		err := r.restartDocker(ctx)
		if err == nil {
			err = r.awaitRoutesLoaded(ctx)
		}
		inj.Until = time.Now()
		inj.Note = fmt.Sprintf("dockerd down and back in %s", inj.Until.Sub(inj.At).Round(time.Millisecond))
		return inj, err
	case FaultKillSidecar:
		inj.Note = "killed dswap serve"
		inj.undo = func() error { return r.startSidecar(context.WithoutCancel(ctx)) }
		return inj, r.killSidecar(ctx)
	case FaultSeveralServices:
		others, err := r.swapOthers(ctx)
		inj.Others = others
		inj.Note = fmt.Sprintf("swapped %s at once", strings.Join(r.others(), ", "))
		return inj, err
	case FaultConcurrentUp:
		second, err := r.dswap.start(ctx, r.upArgs(r.third)...)
		inj.Second = second
		inj.Note = "second dswap up " + r.third.Tag
		return inj, err
	}
	return inj, fmt.Errorf("fault %s has no injector", f.Kind)
}

// dockerKill sends SIGKILL to a container, as `docker kill` does. A
// container already gone is not an error: the fault came too late.
func (r *runner) dockerKill(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := r.dockerCLI(ctx, "kill", "--signal", "KILL", name).CombinedOutput()
	if err != nil {
		msg := string(out)
		if strings.Contains(msg, "No such container") || strings.Contains(msg, "is not running") {
			return nil
		}
		return fmt.Errorf("docker kill %s: %w: %s", name, err, strings.TrimSpace(msg))
	}
	return nil
}

// routesTmpfsSize is the size of the tmpfs that stands for the routes
// directory when routes-full may be drawn: room for the route file, the
// history and the locks of a run.
const routesTmpfsSize = "4m"

// fill writes zeros to path until its filesystem is full, and returns
// how much it wrote. The file is not Traefik's to read (it sits in
// dswap's staging directory and is no *.yml).
func fill(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("filling the routes filesystem: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for n < 1<<30 { // a tmpfs of routesTmpfsSize fills long before
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("filling the routes filesystem: %w", err)
		}
	}
	return n, fmt.Errorf("filling the routes filesystem: wrote %d bytes and it is not full: is the routes directory a tmpfs?", n)
}

// awaitRoutesLoaded waits until a restarted Traefik shows the service's
// router and service from the routes directory: it answers its API before
// its file provider has loaded the directory (seconds on a busy machine,
// when every request is answered 404), and that is its start, not dswap's
// doing. A route file that never loads ends the wait at its deadline and
// the checks report it.
func (r *runner) awaitRoutesLoaded(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := r.traefikServers(ctx); err == nil || time.Now().After(deadline) {
			return nil
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}
