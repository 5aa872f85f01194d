package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cases of --keep-connections beyond the main scenario
// (TestKeepConnectionsWebSockets): a second swap during a linger, a dswap
// killed while it waits, the bound passing with clients connected. Bounds
// are seconds, so each test is short.

// dialSessions opens n WebSocket sessions and waits until each has heard
// from version.
func dialSessions(t *testing.T, s *service, n int, version string) []*wsClient {
	t.Helper()
	var cs []*wsClient
	for range n {
		cs = append(cs, dialWS(t, s))
	}
	require.Eventually(t, func() bool {
		for _, c := range cs {
			if v, _, _, _ := c.snapshot(); v[version] == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the sessions did not all hear from %s", version)
	return cs
}

// stillTalking checks that every session is open and has heard from
// version in the last 2 s, and never from another.
func stillTalking(t *testing.T, cs []*wsClient, version string) {
	t.Helper()
	for i, c := range cs {
		v, _, last, err := c.snapshot()
		assert.NoError(t, err, "session %d on %s was cut", i, version)
		assert.Less(t, time.Since(last), 2*time.Second, "session %d on %s went quiet", i, version)
		for other, n := range v {
			assert.True(t, other == version || n == 0, "session %d on %s heard from %s", i, version, other)
		}
	}
}

func closeSessions(cs []*wsClient) time.Time {
	for _, c := range cs {
		c.close()
	}
	return time.Now()
}

// waitRemoved waits until the container no longer exists and says how long
// that took from since.
func waitRemoved(t *testing.T, id string, since time.Time, within time.Duration, what string) time.Duration {
	t.Helper()
	require.Eventually(t, func() bool { exists, _ := containerRunning(id); return !exists }, within, 50*time.Millisecond, "%s was not removed within %s", what, within)
	return time.Since(since)
}

// containerOfImage is the ID of the service's running container of img.
func (s *service) containerOfImage(t *testing.T, img string) string {
	t.Helper()
	for _, c := range s.containers(t) {
		if c.Image == img && c.State == "running" {
			return c.ID
		}
	}
	t.Fatalf("no running container of %s for %s", img, s.name)
	return ""
}

// newSessionVersion opens one session and says which version it hears.
func newSessionVersion(t *testing.T, s *service) string {
	t.Helper()
	c := dialWS(t, s)
	defer c.close()
	var got string
	require.Eventually(t, func() bool {
		v, _, _, _ := c.snapshot()
		for k := range v {
			got = k
		}
		return got != ""
	}, 10*time.Second, 50*time.Millisecond)
	return got
}

// TestLingerSecondSwap: v1 lingers with its sessions, a second swap makes
// v2 linger with its own, v3 serves. Neither old version gets a new
// session; each is removed once its own sessions close, the other staying.
func TestLingerSecondSwap(t *testing.T) {
	svc := startService(t, "linger2nd", serviceOpts{})
	startLingerKeeper(t)
	onV1 := dialSessions(t, svc, 5, "v1")

	run := svc.up(t, image(imgV2), "--keep-connections", "1m", "--drain", "2s")
	require.Equal(t, 0, run.code, run.stderr)
	v2 := svc.containerOfImage(t, image(imgV2))
	onV2 := dialSessions(t, svc, 5, "v2")

	run = svc.up(t, image(imgV3), "--keep-connections", "1m", "--drain", "2s")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stderr, "handed over to the route keeper")
	assert.Equal(t, []string{svc.containersName(t, v2)}, run.result.Old, "the lingering v1 is not an old container of the second swap")

	// Route: v3 alone; new sessions on v3 only.
	route := svc.routeFile(t)
	assert.NotContains(t, route, "//"+svc.name+":", "v1 is routed again:\n%s", route)
	assert.NotContains(t, route, "//"+svc.containersName(t, v2)+":", "v2 is still routed:\n%s", route)
	for range 5 {
		assert.Equal(t, "v3", newSessionVersion(t, svc))
	}
	exists1, running1 := containerRunning(svc.id)
	exists2, running2 := containerRunning(v2)
	require.True(t, exists1 && running1 && exists2 && running2, "v1 and v2 must both linger")
	time.Sleep(3 * time.Second) // the sessions' own life: six version messages
	stillTalking(t, onV1, "v1")
	stillTalking(t, onV2, "v2")

	st := runDswap(t, "status", svc.name)
	assert.Equal(t, 2, strings.Count(st.stderr, "lingering, unrouted"), "status shows both lingering containers:\n%s", st.stderr)

	// v2's sessions end first: v2 goes, v1 stays with its sessions.
	gone2 := waitRemoved(t, v2, closeSessions(onV2), 15*time.Second, "v2")
	exists1, running1 = containerRunning(svc.id)
	assert.True(t, exists1 && running1, "v1 was stopped with v2")
	stillTalking(t, onV1, "v1")
	gone1 := waitRemoved(t, svc.id, closeSessions(onV1), 15*time.Second, "v1")
	h := runDswap(t, "history", svc.name)
	assert.Equal(t, 2, strings.Count(h.stdout, "lingered"), "history records both lingers:\n%s", h.stdout)
	t.Logf("figures: second swap during a linger: v2 removed %.2fs after its last session closed, v1 %.2fs after its own", gone2.Seconds(), gone1.Seconds())
}

// containersName is the name of one of the service's containers.
func (s *service) containersName(t *testing.T, id string) string {
	t.Helper()
	for _, c := range s.containers(t) {
		if c.ID == id {
			return c.Name
		}
	}
	t.Fatalf("no container %s for %s", id, s.name)
	return ""
}

// TestLingerDswapKilledKeeperFinishes: no keeper runs, so dswap up waits
// for the lingering v1; it is SIGKILLed there. v1 goes on running with its
// sessions (nothing stops it, nothing forgets it); a dswap keep started
// later finds the record and removes v1 once the sessions close.
func TestLingerDswapKilledKeeperFinishes(t *testing.T) {
	svc := startService(t, "lingerkill", serviceOpts{})
	sessions := dialSessions(t, svc, 3, "v1")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.dswap, "up", image(imgV2), "--service", svc.name, "--keep-connections", "1m", "--drain", "2s", "--output", "json")
	cmd.Env = withEnv(os.Environ(),
		"DSWAP_ROUTES_DIR="+suite.lab.RoutesDir,
		"DSWAP_TRAEFIK_API="+suite.lab.APIURL,
		"DSWAP_TRAEFIK_CONTAINER="+suite.lab.TraefikName,
	)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "dswap waits here") }, time.Minute, 50*time.Millisecond,
		"dswap up did not say it waits for the lingering v1:\n%s", stderr.String())
	assert.Contains(t, stdout.String(), `"lingering"`, "the result is reported before the wait")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	t.Logf("dswap up (killed):\n%s", stderr.String())

	time.Sleep(2 * time.Second) // what a killed dswap would have done by now, it does not
	exists, running := containerRunning(svc.id)
	require.True(t, exists && running, "v1 must keep running after dswap was killed")
	stillTalking(t, sessions, "v1")
	st := runDswap(t, "status", svc.name)
	assert.Contains(t, st.stderr, "lingering, unrouted", "the linger is not forgotten")

	// The keeper picks it up: v1 stays while its sessions are open...
	startLingerKeeper(t)
	time.Sleep(2 * time.Second)
	exists, running = containerRunning(svc.id)
	require.True(t, exists && running, "the keeper stopped v1 while its sessions were open")
	stillTalking(t, sessions, "v1")
	// ...and removes it when they close.
	gone := waitRemoved(t, svc.id, closeSessions(sessions), 15*time.Second, "v1")
	st = runDswap(t, "status", svc.name)
	assert.NotContains(t, st.stderr, "lingering")
	t.Logf("figures: dswap killed during a linger; dswap keep removed v1 %.2fs after its last session closed", gone.Seconds())
}

// TestLingerBoundCutsSessions: the bound passes with the sessions still
// open. v1 then gets its SIGTERM, which this app ignores (ON_SIGTERM=ignore:
// the worst case, an app that never lets go), so the sessions are cut when
// it is killed at the end of the drain window, and v1 is removed. (The
// test app's default, exiting on SIGTERM, cuts them at the bound itself.)
func TestLingerBoundCutsSessions(t *testing.T) {
	svc := startService(t, "lingerbound", serviceOpts{env: []string{"ON_SIGTERM=ignore"}})
	startLingerKeeper(t)
	sessions := dialSessions(t, svc, 3, "v1")
	const bound, drain = 4 * time.Second, 2 * time.Second

	run := svc.up(t, image(imgV2), "--keep-connections", bound.String(), "--drain", drain.String())
	require.Equal(t, 0, run.code, run.stderr)
	flipped := time.Now()
	time.Sleep(bound / 2)
	stillTalking(t, sessions, "v1")

	require.Eventually(t, func() bool {
		for _, c := range sessions {
			if _, _, _, err := c.snapshot(); err == nil {
				return false
			}
		}
		return true
	}, bound+drain+15*time.Second, 50*time.Millisecond, "the sessions were not cut after the bound and the drain window")
	cutAfter := time.Since(flipped)
	assert.Greater(t, cutAfter, bound+drain-500*time.Millisecond, "sessions cut before the bound and the drain window passed")
	assert.Less(t, cutAfter, bound+drain+3*time.Second, "sessions outlived the bound and the drain window")
	gone := waitRemoved(t, svc.id, flipped, 10*time.Second, "v1")
	h := runDswap(t, "history", svc.name)
	assert.Contains(t, h.stdout, "bound reached")
	t.Logf("figures: bound %s, drain %s: 3 sessions cut %.2fs after the flip, v1 removed %.2fs after the flip", bound, drain, cutAfter.Seconds(), gone.Seconds())
}

// TestLingerRollback: v1 lingers with its sessions after a swap to v2;
// dswap rollback --keep-connections starts a fresh v1 container and routes
// it; the lingering v1 is not routed again, v2 lingers with its own
// sessions, and each old one is removed when its sessions close while the
// fresh v1 serves on.
func TestLingerRollback(t *testing.T) {
	svc := startService(t, "lingerrb", serviceOpts{})
	startLingerKeeper(t)
	onV1 := dialSessions(t, svc, 3, "v1")
	run := svc.up(t, image(imgV2), "--keep-connections", "1m", "--drain", "2s")
	require.Equal(t, 0, run.code, run.stderr)
	v2 := svc.containerOfImage(t, image(imgV2))
	onV2 := dialSessions(t, svc, 3, "v2")

	rb := runDswap(t, "rollback", svc.name, "--keep-connections", "1m", "--drain", "2s", "--output", "json")
	require.Equal(t, 0, rb.code, rb.stderr)
	require.Len(t, rb.result.New, 1)
	fresh := rb.result.New[0]
	assert.NotEqual(t, svc.name, fresh, "the lingering v1 was taken back instead of a fresh container")
	assert.Contains(t, rb.stderr, "handed over to the route keeper", "v2 lingers after the rollback")
	route := svc.routeFile(t)
	assert.Contains(t, route, "//"+fresh+":")
	assert.NotContains(t, route, "//"+svc.name+":", "the lingering v1 is routed again:\n%s", route)
	assert.Equal(t, "v1", newSessionVersion(t, svc))

	time.Sleep(2 * time.Second)
	stillTalking(t, onV1, "v1")
	stillTalking(t, onV2, "v2")
	gone1 := waitRemoved(t, svc.id, closeSessions(onV1), 15*time.Second, "the lingering v1")
	gone2 := waitRemoved(t, v2, closeSessions(onV2), 15*time.Second, "the lingering v2")
	exists, running := containerRunning(fresh)
	assert.True(t, exists && running, "the fresh v1 no longer serves")
	assert.Equal(t, "v1", newSessionVersion(t, svc))
	t.Logf("figures: rollback during a linger: lingering v1 removed %.2fs and v2 %.2fs after their last sessions closed", gone1.Seconds(), gone2.Seconds())
}
