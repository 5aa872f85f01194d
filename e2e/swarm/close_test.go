package swarm

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// machineState is what a Swarm of the test's own must leave as it found:
// the machine Engine's objects, and this namespace's network namespaces,
// links, iptables rules, mounts, processes and temporary directories.
type machineState map[string][]string

// snapshot reads the machine's state. The machine Engine is read with the
// docker CLI without -H, as a user would.
func snapshot(t *testing.T) machineState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(name string, args ...string) []string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
		return sortedLines(string(out))
	}
	st := machineState{
		"docker containers":  run("docker", "ps", "-a", "-q", "--no-trunc"),
		"docker networks":    run("docker", "network", "ls", "-q", "--no-trunc"),
		"docker volumes":     run("docker", "volume", "ls", "-q"),
		"docker images":      run("docker", "images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"),
		"network namespaces": run("ip", "netns", "list"),
		"iptables filter":    run("iptables", "-w", "-S"),
		"iptables nat":       run("iptables", "-w", "-t", "nat", "-S"),
	}
	ifaces, err := net.Interfaces()
	require.NoError(t, err)
	for _, i := range ifaces {
		st["links"] = append(st["links"], i.Name)
	}
	sort.Strings(st["links"])
	mounts, err := os.ReadFile("/proc/self/mounts")
	require.NoError(t, err)
	// iproute2 makes /run/netns a mount point of its own when it creates
	// the machine's first named namespace, and leaves it (as it does for
	// every `ip netns add`): that mount is the machine's, not the Swarm's.
	for _, m := range sortedLines(string(mounts)) {
		if f := strings.Fields(m); len(f) > 1 && f[1] == "/run/netns" {
			continue
		}
		st["mounts"] = append(st["mounts"], m)
	}
	st["dockerd processes"] = dockerdProcesses()
	tmp, err := filepath.Glob(filepath.Join(os.TempDir(), "dswap-swarm-*"))
	require.NoError(t, err)
	st["swarm directories"] = tmp
	return st
}

// dockerdProcesses lists the command lines of running dockerd processes.
func dockerdProcesses() []string {
	var out []string
	pids, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) == "dockerd" {
			out = append(out, strings.Join(args, " "))
		}
	}
	sort.Strings(out)
	return out
}

func sortedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// assertSame compares two snapshots kind by kind, naming what appeared and
// what went.
func assertSame(t *testing.T, before, after machineState) {
	t.Helper()
	for kind, was := range before {
		now := after[kind]
		added, removed := diff(was, now)
		assert.Empty(t, added, "%s added and left behind", kind)
		assert.Empty(t, removed, "%s removed", kind)
	}
}

func diff(a, b []string) (added, removed []string) {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	inA, inB := in(a), in(b)
	for _, x := range b {
		if !inA[x] {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !inB[x] {
			removed = append(removed, x)
		}
	}
	return added, removed
}

// TestSwarmCloseLeavesTheMachineAsFound starts a two-node Swarm with a
// service on both nodes (so overlay, veths, FORWARD rules and mounts all
// exist), closes it, and compares the machine before and after; and the
// same after a start that fails late (Traefik's binary is no binary), when
// StartSwarm cleans up itself.
func TestSwarmCloseLeavesTheMachineAsFound(t *testing.T) {
	needSwarm(t)
	t.Run("after a run", func(t *testing.T) {
		before := snapshot(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s, err := lab.StartSwarm(ctx, lab.SwarmOptions{Nodes: 2, TraefikBin: env.traefikBin, Log: testLog{t}})
		require.NoError(t, err)
		closed := false
		t.Cleanup(func() {
			if !closed {
				_ = s.Close()
			}
		})
		img := s.Prefix + "-app:v1"
		require.NoError(t, s.BuildApp(ctx, lab.AppImage{Tag: img, Version: "v1"}))
		name := "web" + randomHex(2)
		docker(t, s, "service", "create", "--detach", "--name", name, "--replicas", "2", "--network", s.Network, "--no-resolve-image", img)
		tasks := awaitTasks(t, s, name, 2, 2*time.Minute)
		require.NoError(t, s.WriteRoute(name, name+".test", addrsOf(tasks), 8080))
		during := snapshot(t)
		added, _ := diff(before["network namespaces"], during["network namespaces"])
		require.Len(t, added, 2, "the Swarm's nodes' namespaces should show while it runs")
		added, _ = diff(before["iptables filter"], during["iptables filter"])
		require.Len(t, added, 2, "the Swarm's FORWARD rules should show while it runs")

		closed = true
		require.NoError(t, s.Close())
		assertSame(t, before, snapshot(t))
	})
	t.Run("after a failed start", func(t *testing.T) {
		before := snapshot(t)
		notTraefik := filepath.Join(t.TempDir(), "traefik")
		require.NoError(t, os.WriteFile(notTraefik, []byte("not a program\n"), 0o755))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s, err := lab.StartSwarm(ctx, lab.SwarmOptions{Nodes: 2, TraefikBin: notTraefik, Log: testLog{t}})
		if s != nil {
			_ = s.Close()
		}
		require.Error(t, err, "a Traefik that is no program must fail the start")
		t.Logf("the start failed as meant: %v", err)
		assertSame(t, before, snapshot(t))
	})
}
