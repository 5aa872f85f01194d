// Package swarm proves dswap's Swarm side, and the Swarm harness it runs
// on, against Swarms of Docker Engines of the tests' own: each node an
// Engine in a network namespace of its own (internal/testenv/lab, swarm.go).
// The machine's own Engine is never reconfigured and never joins a Swarm.
//
// Under CI=true missing Docker, root, Traefik or tools fail the run; elsewhere
// the tests skip.
package swarm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// env is what every test needs from the machine; missing is set when the
// machine lacks it, and tests then skip (or fail under CI=true).
var env struct {
	traefikBin string
	missing    string
}

func TestMain(m *testing.M) {
	env.traefikBin = lab.TraefikBinFromEnv()
	env.missing = missingTools()
	os.Exit(m.Run())
}

// missingTools says what of the harness's needs this machine lacks, or "".
func missingTools() string {
	if os.Geteuid() != 0 {
		return "a Swarm of Engines of the test's own needs root (network namespaces, dockerd, iptables)"
	}
	for _, tool := range []string{"docker", "dockerd", "nsenter", "ip", "iptables", "fuse-overlayfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("a Swarm of Engines of the test's own needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return fmt.Sprintf("no Docker Engine: docker version: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if env.traefikBin == "" {
		return "no Traefik binary: run scripts/tools.sh and set " + lab.TraefikBinEnv
	}
	return ""
}

// needSwarm skips a test the machine cannot run, except under CI=true,
// where every test must run: a missing tool is then a failure.
func needSwarm(t *testing.T) {
	t.Helper()
	if env.missing != "" {
		missing(t, env.missing)
	}
}

// missing skips a test for what the machine lacks, or fails it under
// CI=true, where every test must run.
func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(what + "; under CI=true this test must run (scripts/packages.sh installs what it needs)")
	}
	t.Skip(what)
}

// startSwarm starts a Swarm of n nodes for the test and closes it when the
// test ends, logging the manager's dockerd log tail if the test failed.
// Each test runs on a Swarm of its own (namespaces, subnets and names drawn
// apart), so the tests run side by side, go test's -parallel at a time:
// most of their time is spent waiting on Swarm (task starts, health checks,
// heartbeats).
func startSwarm(t *testing.T, opts lab.SwarmOptions) *lab.Swarm {
	t.Helper()
	needSwarm(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts.TraefikBin = env.traefikBin
	opts.Log = testLog{t}
	s, err := lab.StartSwarm(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range s.Nodes {
				t.Logf("node %d's dockerd log (tail):\n%s", i, tail(n.Logs(), 30))
			}
			logCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			t.Logf("traefik's log (tail):\n%s", s.TraefikLogs(logCtx))
			cancel()
		}
		if err := s.Close(); err != nil {
			t.Errorf("closing the swarm: %v", err)
		}
	})
	return s
}

// testLog sends the harness's progress lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// docker runs the docker CLI on the Swarm's manager within a minute.
func docker(t *testing.T, s *lab.Swarm, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Docker(ctx, args...).CombinedOutput()
	require.NoError(t, err, "docker -H manager %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// awaitTasks waits until the service has want tasks running with an
// address on the overlay network, and returns them.
func awaitTasks(t *testing.T, s *lab.Swarm, service string, want int, within time.Duration) []lab.Task {
	t.Helper()
	var running []lab.Task
	var last string
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tasks, err := s.Tasks(ctx, service)
		if err != nil {
			last = err.Error()
			return false
		}
		running = running[:0]
		var states []string
		for _, task := range tasks {
			states = append(states, fmt.Sprintf("slot %d on %s: %s", task.Slot, task.NodeID, task.State))
			if task.State == "running" && task.Addr != "" {
				running = append(running, task)
			}
		}
		last = strings.Join(states, "; ")
		return len(running) == want
	}, within, 250*time.Millisecond, "tasks of %s never were %d running; last: %s", service, want, last)
	return running
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
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
