package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// HostTraefik is Traefik run as a process of this host, the way users who
// come from nginx run it (under systemd): its file provider watches a host
// directory, its entrypoints listen on 127.0.0.1, and it reaches containers
// by IP, having no container DNS.
type HostTraefik struct {
	RoutesDir string
	WebURL    string // http://127.0.0.1:<port> of the web entrypoint
	APIURL    string // http://127.0.0.1:<port> of the API and ping

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

// HostTraefikOptions configures StartHostTraefik.
type HostTraefikOptions struct {
	// Bin is the Traefik binary (TraefikBinFromEnv).
	Bin string
	// RoutesDir is the directory the file provider watches.
	RoutesDir string
	// Wrap runs Traefik through another command, e.g.
	// {"nsenter", "--net=/var/run/netns/NAME", "--"} to run it in a
	// network namespace; its 127.0.0.1 is then that namespace's.
	Wrap []string
	// Host is the address the entrypoints listen on; default 127.0.0.1.
	Host string
}

// StartHostTraefik starts Traefik as a child process on free 127.0.0.1
// ports and waits until its API answers. Close stops it.
func StartHostTraefik(ctx context.Context, opts HostTraefikOptions) (*HostTraefik, error) {
	web, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("starting host traefik: %w", err)
	}
	api, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("starting host traefik: %w", err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	args := append(append([]string{}, opts.Wrap...), opts.Bin,
		"--entryPoints.web.address="+host+":"+web,
		"--entryPoints.traefik.address="+host+":"+api,
		"--api.insecure=true",
		"--api.dashboard=false",
		"--ping=true",
		"--providers.file.directory="+opts.RoutesDir,
		"--providers.file.watch=true",
		"--log.level=INFO",
		"--log.noColor=true",
		"--accesslog=false",
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
	)
	h := &HostTraefik{
		RoutesDir: opts.RoutesDir,
		WebURL:    "http://" + host + ":" + web,
		APIURL:    "http://" + host + ":" + api,
		out:       &lockedBuffer{},
		done:      make(chan struct{}),
	}
	// Not bound to ctx: the process lives until Close, whatever the
	// context of the start.
	h.cmd = exec.Command(args[0], args[1:]...)
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting host traefik %s: %w", opts.Bin, err)
	}
	go func() {
		h.err = h.cmd.Wait()
		close(h.done)
	}()
	readyCtx, cancel := context.WithTimeout(ctx, traefikReadyTimeout)
	defer cancel()
	err = pollUntil(readyCtx, 100*time.Millisecond, func(ctx context.Context) (error, error) {
		select {
		case <-h.done:
			return nil, fmt.Errorf("host traefik exited (%v) before its API answered; output:\n%s", h.err, h.out.String())
		default:
		}
		return all200(ctx, []string{h.APIURL + "/ping", h.APIURL + "/api/http/routers"}), nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("waiting for host traefik's API at %s: %w", h.APIURL, err), h.Close())
	}
	return h, nil
}

// Logs returns what Traefik printed so far.
func (h *HostTraefik) Logs() string { return h.out.String() }

// Close stops Traefik (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (h *HostTraefik) Close() error {
	if h == nil || h.cmd == nil || h.cmd.Process == nil {
		return nil
	}
	select {
	case <-h.done:
		return nil
	default:
	}
	// Its process group: a Wrap command's child goes too.
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-h.done:
		return nil
	case <-t.C:
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.done
		return fmt.Errorf("host traefik did not stop within 10s of SIGTERM; killed it")
	}
}

// lockedBuffer is a bytes.Buffer safe for a process writing while a test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
