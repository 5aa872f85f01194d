package swarm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/traefik"
)

// dswapBin builds the dswap binary into the test's own directory (removed
// with it); go's build cache makes every build after the first a link.
func dswapBin(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dswap")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, "go", "build", "-o", out, "../../cmd/dswap").CombinedOutput()
	require.NoError(t, err, "building dswap: %s", b)
	return out
}

// dswapRun is one run of dswap.
type dswapRun struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// dswapEnv is the environment that points dswap at the Swarm's manager
// (DOCKER_HOST) and its Traefik.
func dswapEnv(s *lab.Swarm) []string {
	return append(os.Environ(),
		"DOCKER_HOST="+s.Manager.Socket,
		"DSWAP_ROUTES_DIR="+s.RoutesDir,
		"DSWAP_TRAEFIK_API="+s.TraefikAPI,
		"DSWAP_TRAEFIK_CONTAINER="+s.TraefikName,
	)
}

// runDswap runs dswap against the Swarm's manager (DOCKER_HOST) and its
// Traefik, within 5 minutes.
func runDswap(t *testing.T, bin string, s *lab.Swarm, args ...string) dswapRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = dswapEnv(s)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	run := dswapRun{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		run.code = exit.ExitCode()
	default:
		t.Fatalf("running dswap %s: %v", strings.Join(args, " "), err)
	}
	require.NoError(t, ctx.Err(), "dswap %s did not finish within 5 minutes:\n%s", strings.Join(args, " "), run.stderr)
	t.Logf("dswap %s: exit %d in %s\nstdout: %s\nstderr (tail):\n%s", strings.Join(args, " "), run.code, run.took.Round(time.Millisecond), run.stdout, tail(run.stderr, 25))
	return run
}

// routeSampler reads Traefik's API for a service's servers every 20 ms
// and keeps the fewest it saw, and every distinct server set.
type routeSampler struct {
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	fewest  int
	samples int
	errs    int
	sets    []string
}

func sampleRoute(t *testing.T, s *lab.Swarm, service string) *routeSampler {
	t.Helper()
	api, err := traefik.NewAPI(s.TraefikAPI)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &routeSampler{stop: cancel, done: make(chan struct{}), fewest: -1}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			rt, err := api.Runtime(rctx)
			rcancel()
			r.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					r.errs++
				}
			} else {
				urls := rt.Services[service+"@file"].ServerURLs()
				sort.Strings(urls)
				r.samples++
				if r.fewest < 0 || len(urls) < r.fewest {
					r.fewest = len(urls)
				}
				if set := strings.Join(urls, ","); len(r.sets) == 0 || r.sets[len(r.sets)-1] != set {
					r.sets = append(r.sets, set)
				}
			}
			r.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return r
}

// finish stops sampling and returns the fewest servers seen, the number of
// samples and the distinct server sets in order.
func (r *routeSampler) finish() (fewest, samples, errs int, sets []string) {
	r.stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fewest, r.samples, r.errs, r.sets
}

// lockedBuffer is an output buffer written by a process and read by the
// test meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDswap runs dswap with args against the Swarm's manager (dswapEnv,
// plus env) until the test ends, when it is interrupted (killed after
// 20 s) and the tail of its output logged. It returns its output so far
// on demand.
func startDswap(t *testing.T, bin string, s *lab.Swarm, env []string, args ...string) output {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(dswapEnv(s), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		t.Logf("dswap %s's output (tail):\n%s", args[0], tail(out.String(), 30))
	})
	return out.String
}

// output is a process's output so far, read when called or printed.
type output func() string

func (o output) String() string { return o() }

// dswapUnderLoad runs dswap with args while closed-loop clients load app
// through Traefik (from a second before to a second after) and Traefik's
// API is sampled: it returns the run, the load's report, the fewest
// servers Traefik showed and the server sets in order.
func dswapUnderLoad(t *testing.T, bin string, s *lab.Swarm, app swarmApp, args ...string) (dswapRun, *loadgen.Report, int, []string) {
	t.Helper()
	sampler := sampleRoute(t, s, app.name)
	stop := load(t, s, app, 4*time.Minute)
	time.Sleep(time.Second) // load before the swap starts
	run := runDswap(t, bin, s, args...)
	time.Sleep(time.Second) // and after it ended
	rep := stop()
	fewest, samples, errs, sets := sampler.finish()
	t.Logf("dswap %s: %s; Traefik API sampled %d times (%d errors), fewest servers %d, server sets in order: %q",
		strings.Join(args, " "), rep.Summary(), samples, errs, fewest, sets)
	return run, rep, fewest, sets
}
