package torture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// sidecar is a `dswap serve` the harness runs (API only, --watch=false,
// on a Unix socket) so that the kill-sidecar fault can SIGKILL it while
// it runs a swap requested over its API, as a supervisor's restart would
// follow.
type sidecar struct {
	dswap  launcher
	dir    string // holds the socket
	socket string
	cmd    *exec.Cmd
	done   chan struct{}
	log    *os.File
}

// startSidecar starts the sidecar and waits until its API answers.
func (r *runner) startSidecar(ctx context.Context) error {
	if r.side == nil {
		dir, err := os.MkdirTemp("", "dswap-torture-sidecar-")
		if err != nil {
			return err
		}
		if r.dswap.cred != nil {
			if err := os.Chown(dir, int(r.dswap.cred.Uid), int(r.dswap.cred.Gid)); err != nil {
				return err
			}
		}
		r.side = &sidecar{dswap: r.dswap, dir: dir, socket: filepath.Join(dir, "dswap.sock")}
	}
	s := r.side
	_ = os.Remove(s.socket) // a SIGKILLed sidecar leaves it
	cmd := exec.Command(s.dswap.bin, "serve", "--listen", "unix://"+s.socket, "--watch=false")
	cmd.Env = s.dswap.env
	if s.dswap.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.dswap.cred}
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting dswap serve: %w", err)
	}
	s.cmd, s.log, s.done = cmd, logf, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	// Ready when a status request over its API answers.
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := r.viaSidecar().run(ctx, "status")
		if err == nil && p.code == 0 {
			return nil
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(filepath.Join(s.dir, "serve.log"))
			return fmt.Errorf("dswap serve exited at start: %s", lastLines(string(b), 10))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dswap serve on %s did not answer within a minute", s.socket)
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// viaSidecar is the launcher of a dswap CLI that hands its swap to the
// sidecar (DSWAP_HOST).
func (r *runner) viaSidecar() launcher {
	l := r.dswap
	l.env = append(append([]string(nil), l.env...), "DSWAP_HOST=unix://"+r.side.socket)
	return l
}

// killSidecar SIGKILLs the sidecar and waits until it is gone.
func (r *runner) killSidecar(ctx context.Context) error {
	s := r.side
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing dswap serve: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		return errors.New("dswap serve still runs 30 s after SIGKILL")
	case <-ctx.Done():
		return ctx.Err()
	}
	s.log.Close()
	return nil
}

// stopSidecar ends the sidecar at the end of the run.
func (r *runner) stopSidecar() {
	s := r.side
	if s == nil {
		return
	}
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.log.Close()
	}
	_ = os.RemoveAll(s.dir)
}

func lastLines(s string, n int) string {
	lines := splitLines(s)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
