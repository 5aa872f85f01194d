package torture

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// The restart-docker fault restarts the Docker daemon the lab runs on, so
// the run then needs an Engine of its own (lab.StartOwnEngine: its own
// dockerd in a network namespace of its own, live-restore off): the
// machine's Engine is never stopped. Traefik and the services run there
// with restart policy unless-stopped and come back with the daemon; the
// load reaches Traefik on the namespace's end of the veth.

// ownEngine starts the run's own Engine.
func ownEngine(ctx context.Context) (*lab.OwnEngine, func(), error) {
	dir, err := os.MkdirTemp("", "dswap-torture-engine-")
	if err != nil {
		return nil, nil, err
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	eng, err := lab.StartOwnEngine(ctx, fmt.Sprintf("dst%x", b), dir, [2]byte{200 + b[0]%50, b[1]})
	closeAll := func() {
		if eng != nil {
			_ = eng.Close()
		}
		_ = os.RemoveAll(dir)
	}
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("torture: the restart-docker fault needs an Engine of its own: %w", err)
	}
	return eng, closeAll, nil
}

// dockerCLI is a docker command against the lab's Engine.
func (r *runner) dockerCLI(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	if r.engine != nil {
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+r.engine.Socket)
	}
	return cmd
}

// restartDocker stops the lab's dockerd (SIGTERM: its containers stop
// with it), starts it again and waits until Traefik answers and the
// service runs healthy again.
func (r *runner) restartDocker(ctx context.Context) error {
	if err := r.engine.Stop(); err != nil {
		return fmt.Errorf("stopping the lab's dockerd: %w", err)
	}
	if err := r.engine.Start(ctx); err != nil {
		return fmt.Errorf("starting the lab's dockerd again: %w", err)
	}
	if err := r.lab.WaitTraefik(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		cs, err := r.lab.ContainersOf(ctx, "dswap.service="+r.service)
		if err == nil {
			for _, c := range cs {
				if c.State == "running" && r.lab.WaitHealthy(ctx, c.ID, time.Minute) == nil {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no container of %s runs healthy a minute after the daemon restart", r.service)
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// webURL is where the load and the probes reach Traefik's web entrypoint:
// on 127.0.0.1, through a forwarder when Traefik runs on the run's own
// Engine (its ports are published in the Engine's namespace).
func (r *runner) webURL() string {
	if r.forward != "" {
		return r.forward
	}
	return r.lab.WebURL
}

// forwardWeb listens on 127.0.0.1 and forwards every connection to the
// lab's Traefik on the run's own Engine, until ctx ends.
func (r *runner) forwardWeb(ctx context.Context) error {
	f, err := lab.Forward(strings.TrimPrefix(r.lab.WebURL, "http://"))
	if err != nil {
		return fmt.Errorf("torture: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = f.Close()
	}()
	r.forward = f.URL
	return nil
}
