package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

// service is one app under test: a v1 container routed by dswap.
type service struct {
	name string // dswap service name, Traefik router and service name
	host string // Host header that Traefik routes to it
	id   string // the first container's ID
}

type serviceOpts struct {
	env    []string
	labels map[string]string
	// noSync leaves the service unrouted (for labels dswap must refuse).
	noSync bool
	// binds are volume binds ("volume:/path").
	binds []string
}

// startService runs a v1 container with Traefik labels, waits until it is
// healthy and lets dswap adopt it (dswap sync), so traffic reaches it.
func startService(t *testing.T, base string, opts serviceOpts) *service {
	t.Helper()
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := base + "-" + randomHex(2)
	s := &service{name: name, host: name + ".test"}
	labels := map[string]string{
		"traefik.enable":                                              "false", // dswap owns the route, not the docker provider
		"traefik.http.routers." + name + ".rule":                      "Host(`" + s.host + "`)",
		"traefik.http.routers." + name + ".entrypoints":               "web",
		"traefik.http.services." + name + ".loadbalancer.server.port": "8080",
		"dswap.service":                                               name,
	}
	for k, v := range opts.labels {
		labels[k] = v
	}
	id, err := suite.lab.RunApp(ctx, lab.App{Name: name, Image: image(imgV1), Labels: labels, Env: opts.env, Binds: opts.binds})
	require.NoError(t, err)
	s.id = id
	t.Cleanup(func() { s.remove(t) })
	require.NoError(t, suite.lab.WaitHealthy(ctx, id, 30*time.Second))
	if opts.noSync {
		return s
	}
	run := runDswap(t, "sync", name)
	require.Equal(t, 0, run.code, "dswap sync failed:\n%s%s", run.stdout, run.stderr)
	return s
}

// routeFileName is the name of the route file dswap writes for a service
// (project "" for one outside compose), as swap.Service.Key encodes it.
func routeFileName(project, name string) string {
	return "dswap-" + serviceKey(project, name) + ".yml"
}

// serviceKey is swap.Service.Key of a service (project "" outside compose):
// what names its route file, lock and history.
func serviceKey(project, name string) string {
	svc := &swap.Service{Name: name}
	if project != "" {
		svc.Compose = &compose.Identity{Project: project, Service: name}
	}
	return svc.Key()
}

// remove deletes every container of the service and its route file.
func (s *service) remove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := suite.lab.ContainersOf(ctx, "dswap.service="+s.name)
	if err != nil {
		t.Logf("listing containers of %s: %v", s.name, err)
	}
	for _, c := range cs {
		if out, err := exec.CommandContext(ctx, "docker", "rm", "-f", c.ID).CombinedOutput(); err != nil {
			t.Logf("removing %s: %v: %s", c.Name, err, out)
		}
	}
	_ = os.Remove(filepath.Join(suite.lab.RoutesDir, routeFileName("", s.name)))
}

// containers lists the service's containers (running or not).
func (s *service) containers(t *testing.T) []lab.Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := suite.lab.ContainersOf(ctx, "dswap.service="+s.name)
	require.NoError(t, err)
	return cs
}

// routeFile returns the service's route file.
func (s *service) routeFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(suite.lab.RoutesDir, routeFileName("", s.name)))
	require.NoError(t, err)
	return string(b)
}

// dswapRun is one finished dswap command.
type dswapRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
	result         jsonResult
}

// jsonResult is dswap's final --output json object.
type jsonResult struct {
	Result             string   `json:"result"`
	Service            string   `json:"service"`
	Old                []string `json:"old"`
	New                []string `json:"new"`
	HealthySeconds     float64  `json:"healthy_seconds"`
	RoutedAfterHealthy float64  `json:"routed_after_healthy_seconds"`
	TotalSeconds       float64  `json:"total_seconds"`
	Readiness          string   `json:"readiness"`
	Error              string   `json:"error"`
	Phase              string   `json:"failed_phase"`
	Kept               string   `json:"kept"`
	Details            string   `json:"details"`
	Canary             []struct {
		Weight    int    `json:"weight"`
		Requests  int    `json:"requests"`
		Errors    int    `json:"errors"`
		Verdict   string `json:"verdict"`
		Reason    string `json:"reason"`
		P99       string `json:"p99"`
		StableP99 string `json:"stable_p99"`
		Warning   string `json:"warning"`
	} `json:"canary"`
	Tasks []server.TaskOutcome `json:"tasks"`
}

// runDswap runs the dswap binary against the lab's Traefik, bounded in time.
func runDswap(t *testing.T, args ...string) dswapRun {
	t.Helper()
	return runDswapEnv(t, nil, args...)
}

// runDswapEnv is runDswap with extra environment; an empty value unsets.
func runDswapEnv(t *testing.T, env []string, args ...string) dswapRun {
	t.Helper()
	return runWithLabEnv(t, "dswap", suite.dswap, true, env, args...)
}

// runWithLabEnv runs a program (dswap, or the docker CLI that runs dswap as
// its plugin) with the lab's Traefik settings in its environment, as a
// user's shell would have them, within 3 minutes. A last line of stdout
// that starts with "{" is read as dswap's final object; strictJSON makes
// one that does not decode a failure (the docker CLI's own JSON is not).
func runWithLabEnv(t *testing.T, name, bin string, strictJSON bool, env []string, args ...string) dswapRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = withEnv(os.Environ(),
		"DSWAP_ROUTES_DIR="+suite.lab.RoutesDir,
		"DSWAP_TRAEFIK_API="+suite.lab.APIURL,
		"DSWAP_TRAEFIK_CONTAINER="+suite.lab.TraefikName,
	)
	cmd.Env = withEnv(cmd.Env, env...)
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
		t.Fatalf("running %s %s: %v", name, strings.Join(args, " "), err)
	}
	require.NoError(t, ctx.Err(), "%s %s did not finish within 3 minutes:\n%s", name, strings.Join(args, " "), run.stderr)
	if line := lastLine(run.stdout); strings.HasPrefix(line, "{") {
		err := json.Unmarshal([]byte(line), &run.result)
		if strictJSON {
			require.NoError(t, err, "%s's JSON result: %s", name, line)
		}
	}
	t.Logf("%s %s (exit %d, %.2fs)\n%s%s", name, strings.Join(args, " "), run.code, run.took.Seconds(), run.stderr, run.stdout)
	return run
}

func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

// up swaps the service to an image with --output json.
func (s *service) up(t *testing.T, img string, args ...string) dswapRun {
	t.Helper()
	return runDswap(t, append([]string{"up", img, "--service", s.name, "--output", "json"}, args...)...)
}

// load starts closed-loop clients against the service through Traefik.
func (s *service) load(t *testing.T, clients int, query string) *loadgen.Run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	run, err := loadgen.Start(ctx, loadgen.Options{
		URL:         suite.lab.WebURL + "/",
		Host:        s.host,
		Clients:     clients,
		MaxDuration: 3 * time.Minute,
		MaxRequests: 500_000,
		Timeout:     30 * time.Second,
		Query:       query,
	})
	require.NoError(t, err)
	return run
}

// swapUnderLoad swaps the service while clients keep sending requests, and
// returns dswap's run and what the clients saw. Load runs before, during
// and for a while after the swap.
func (s *service) swapUnderLoad(t *testing.T, clients int, query, img string, args ...string) (dswapRun, *loadgen.Report) {
	t.Helper()
	ld := s.load(t, clients, query)
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"), "load never reached v1 through Traefik")
	require.Eventually(t, func() bool { return ld.Count() >= 4*clients }, 30*time.Second, 10*time.Millisecond, "load did not get going")
	run := s.up(t, img, args...)
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+4*clients }, 30*time.Second, 10*time.Millisecond, "load stopped after the swap")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	return run, rep
}

// assertNoFailedRequests checks the clients' view: nothing failed or hung.
func assertNoFailedRequests(t *testing.T, rep *loadgen.Report) {
	t.Helper()
	assert.Zero(t, rep.Failed, "failed requests: %s", describe(rep.Failures()))
	assert.Zero(t, rep.Hung, "hung requests: %s", describe(rep.HungResults()))
	assert.Zero(t, rep.Aborted, "requests cut off by the end of the run")
}

// assertNoMixedVersions checks that once any client got the new version,
// no request sent after that got the old one.
func assertNoMixedVersions(t *testing.T, rep *loadgen.Report, newer string) {
	t.Helper()
	assert.Empty(t, rep.MixedAfter(newer), "requests answered by the old version after %s served: %s", newer, describe(rep.MixedAfter(newer)))
}

func describe(rs []loadgen.Result) string {
	var b strings.Builder
	for i, r := range rs {
		if i == 10 {
			fmt.Fprintf(&b, "... and %d more", len(rs)-10)
			break
		}
		fmt.Fprintf(&b, "\n  %s +%s status=%d version=%q err=%q", r.Start.Format("15:04:05.000"), r.End.Sub(r.Start).Round(time.Millisecond), r.Status, r.Version, r.Err)
	}
	return b.String()
}

// dockerCLI runs the docker CLI for checks that read like what a user types.
func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// withEnv sets KEY=VALUE entries in env; "KEY=" removes KEY.
func withEnv(env []string, set ...string) []string {
	for _, kv := range set {
		key, value, _ := strings.Cut(kv, "=")
		out := env[:0:0]
		for _, e := range env {
			if !strings.HasPrefix(e, key+"=") {
				out = append(out, e)
			}
		}
		if value != "" {
			out = append(out, kv)
		}
		env = out
	}
	return env
}
