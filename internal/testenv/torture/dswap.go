package torture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dswap-dev/dswap/server"
)

// dswapTimeout bounds every dswap command the harness runs: a lock wait
// (2 m by default) behind a swap, plus the swap.
const dswapTimeout = 4 * time.Minute

// event is one JSON log line of dswap.
type event struct {
	Time      time.Time `json:"time"`
	Msg       string    `json:"msg"`
	Phase     string    `json:"phase"`
	Container string    `json:"container"`
}

// dswapProc is a dswap command running in the background. Its phases are
// watched on its JSON events so that a fault can strike at one.
type dswapProc struct {
	args    []string
	cmd     *exec.Cmd
	started time.Time
	stdout  bytes.Buffer

	mu     sync.Mutex
	stderr []string
	events []event
	phases map[string]chan struct{} // closed at the first event of a phase
	done   chan struct{}

	code   int
	result server.Outcome
	err    error // the harness could not run or read it
}

// launcher runs the dswap under test: its binary, environment and, when
// cred is set, the user it runs as.
type launcher struct {
	bin  string
	env  []string
	cred *syscall.Credential
}

// startDswap starts dswap with args and --output json.
func (l launcher) start(ctx context.Context, args ...string) (*dswapProc, error) {
	args = append(args, "--output", "json")
	cmd := exec.CommandContext(ctx, l.bin, args...)
	cmd.Env = l.env
	if l.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: l.cred}
	}
	// A SIGKILL of dswap must not leave the harness waiting on pipes that
	// a child of it still holds.
	cmd.WaitDelay = 5 * time.Second
	p := &dswapProc{args: args, cmd: cmd, phases: map[string]chan struct{}{}, done: make(chan struct{})}
	cmd.Stdout = &p.stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("running dswap %s: %w", strings.Join(args, " "), err)
	}
	p.phase("start") // created before Start so that waiters see it closed
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running dswap %s: %w", strings.Join(args, " "), err)
	}
	p.started = time.Now()
	p.mark("start")
	go p.read(stderr)
	return p, nil
}

// phase returns the channel closed at the first event of name.
func (p *dswapProc) phase(name string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.phases[name]
	if !ok {
		ch = make(chan struct{})
		p.phases[name] = ch
	}
	return ch
}

// mark closes the channel of a phase once.
func (p *dswapProc) mark(name string) {
	ch := p.phase(name)
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// read collects stderr, marks phases as their events arrive, then waits
// for the process and reads its result.
func (p *dswapProc) read(stderr interface{ Read([]byte) (int, error) }) {
	defer close(p.done)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var ev event
		isEvent := strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &ev) == nil
		p.mu.Lock()
		p.stderr = append(p.stderr, line)
		if isEvent {
			p.events = append(p.events, ev)
		}
		p.mu.Unlock()
		if isEvent && ev.Phase != "" {
			p.mark(ev.Phase)
		}
	}
	err := p.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		p.code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
	default:
		p.err = fmt.Errorf("running dswap %s: %w", strings.Join(p.args, " "), err)
	}
	if line := lastLine(p.stdout.String()); strings.HasPrefix(line, "{") {
		if err := json.Unmarshal([]byte(line), &p.result); err != nil && p.err == nil {
			p.err = fmt.Errorf("dswap %s: reading its JSON result %q: %w", strings.Join(p.args, " "), line, err)
		}
	}
}

// wait waits until dswap has exited, or ctx ends.
func (p *dswapProc) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("waiting for dswap %s to exit: %w", strings.Join(p.args, " "), ctx.Err())
	}
}

// signal sends sig to dswap.
func (p *dswapProc) signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sending %s to dswap: %w", sig, err)
	}
	return nil
}

// firstContainer returns the container named by the first event with msg.
func (p *dswapProc) firstContainer(msg string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range p.events {
		if ev.Msg == msg && ev.Container != "" {
			return ev.Container
		}
	}
	return ""
}

// summary is dswap's command line, exit code and output, for evidence.
func (p *dswapProc) summary(tailLines int) string {
	p.mu.Lock()
	lines := append([]string(nil), p.stderr...)
	p.mu.Unlock()
	if len(lines) > tailLines {
		lines = append([]string{fmt.Sprintf("(%d earlier lines left out)", len(lines)-tailLines)}, lines[len(lines)-tailLines:]...)
	}
	return fmt.Sprintf("$ dswap %s\nexit %d\nstdout: %s\nstderr:\n%s", strings.Join(p.args, " "), p.code, strings.TrimSpace(p.stdout.String()), strings.Join(lines, "\n"))
}

// stderrText is everything dswap wrote to stderr.
func (p *dswapProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// run runs dswap to the end.
func (l launcher) run(ctx context.Context, args ...string) (*dswapProc, error) {
	ctx, cancel := context.WithTimeout(ctx, dswapTimeout)
	defer cancel()
	p, err := l.start(ctx, args...)
	if err != nil {
		return nil, err
	}
	if err := p.wait(ctx); err != nil {
		return p, err
	}
	return p, nil
}

func lastLine(s string) string {
	var last string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			last = l
		}
	}
	return last
}
