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

// machineState is what a Swarm of the test's own must leave as it found,
// kind by kind.
type machineState map[string][]string

// engineKinds are the machine Engine's parts of a machineState.
var engineKinds = []string{"docker containers", "docker networks", "docker volumes", "docker images"}

// snapshot reads the machine's state: the machine Engine's objects (read
// with the docker CLI without -H, as a user would), and this namespace's
// network namespaces, links, iptables rules, mounts, dockerd processes and
// temporary directories. Only what names prefix is kept: other tests on
// this machine create and remove such things at any time, and everything a
// Swarm creates is named with its prefix (namespaces, veths, its FORWARD
// rules' comment, its directory, the Engines' containerd namespaces, and
// its networks, containers and images, which must never show on the
// machine's Engine). An empty prefix keeps everything.
func snapshot(t *testing.T, prefix string) machineState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(name string, args ...string) []string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
		return sortedLines(string(out))
	}
	st := machineState{
		"docker containers":  run("docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Labels}}"),
		"docker networks":    run("docker", "network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}} {{.Labels}}"),
		"docker volumes":     run("docker", "volume", "ls", "--format", "{{.Name}} {{.Labels}}"),
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
	mounts, err := os.ReadFile("/proc/self/mounts")
	require.NoError(t, err)
	st["mounts"] = sortedLines(string(mounts))
	st["dockerd processes"] = dockerdProcesses()
	st["swarm directories"], err = filepath.Glob(filepath.Join(os.TempDir(), "dswap-swarm-*"))
	require.NoError(t, err)
	if prefix != "" {
		for kind, lines := range st {
			var kept []string
			for _, l := range lines {
				if strings.Contains(l, prefix) {
					kept = append(kept, l)
				}
			}
			st[kind] = kept
		}
	}
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
		added, removed := diff(was, after[kind])
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

// machineEngine is the machine Engine's part of a full snapshot.
func machineEngine(st machineState) machineState {
	out := machineState{}
	for _, k := range engineKinds {
		out[k] = st[k]
	}
	return out
}

// TestSwarmCloseLeavesTheMachineAsFound starts a two-node Swarm with a
// service on both nodes (so overlay, veths, FORWARD rules and mounts all
// exist), closes it, and compares the machine before and after; and the
// same after a start that fails late (Traefik's binary is no binary), when
// StartSwarm cleans up itself. Everything named with the Swarm's prefix is
// compared, and must be there while the Swarm runs (so the comparison can
// fail), except on the machine's Engine, where nothing of it may ever be.
// Under CI=true, where nothing else runs beside this phase, the machine
// Engine's containers, networks, volumes and images are compared whole too.
func TestSwarmCloseLeavesTheMachineAsFound(t *testing.T) {
	needSwarm(t)
	t.Parallel()
	ci := os.Getenv("CI") == "true"
	t.Run("after a run", func(t *testing.T) {
		prefix := "dsw" + randomHex(3)
		var wholeEngine machineState
		if ci {
			wholeEngine = machineEngine(snapshot(t, ""))
		}
		before := snapshot(t, prefix)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s, err := lab.StartSwarm(ctx, lab.SwarmOptions{Nodes: 2, Prefix: prefix, TraefikBin: env.traefikBin, Log: testLog{t}})
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

		during := snapshot(t, prefix)
		assert.Len(t, during["network namespaces"], 2, "the nodes' namespaces")
		assert.Len(t, during["links"], 2, "the nodes' veths here")
		assert.Len(t, during["iptables filter"], 2, "the FORWARD rules between the two nodes")
		assert.Len(t, during["dockerd processes"], 2, "the nodes' Engines")
		assert.Len(t, during["swarm directories"], 1)
		assert.NotEmpty(t, during["mounts"], "the Engines' overlay mounts")
		for _, k := range engineKinds {
			assert.Empty(t, during[k], "the Swarm's %s showed on the machine's Engine", k)
		}

		closed = true
		require.NoError(t, s.Close())
		assertSame(t, before, snapshot(t, prefix))
		if ci {
			assertSame(t, wholeEngine, machineEngine(snapshot(t, "")))
		}
	})
	t.Run("after a failed start", func(t *testing.T) {
		prefix := "dsw" + randomHex(3)
		var wholeEngine machineState
		if ci {
			wholeEngine = machineEngine(snapshot(t, ""))
		}
		before := snapshot(t, prefix)
		notTraefik := filepath.Join(t.TempDir(), "traefik")
		require.NoError(t, os.WriteFile(notTraefik, []byte("not a program\n"), 0o755))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s, err := lab.StartSwarm(ctx, lab.SwarmOptions{Nodes: 2, Prefix: prefix, TraefikBin: notTraefik, Log: testLog{t}})
		if s != nil {
			_ = s.Close()
		}
		require.Error(t, err, "a Traefik that is no program must fail the start")
		t.Logf("the start failed as meant: %v", err)
		assertSame(t, before, snapshot(t, prefix))
		if ci {
			assertSame(t, wholeEngine, machineEngine(snapshot(t, "")))
		}
	})
}
