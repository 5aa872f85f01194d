package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wsClient is one WebSocket session through Traefik to the service's /ws.
type wsClient struct {
	conn     *websocket.Conn
	cancel   context.CancelFunc
	mu       sync.Mutex
	versions map[string]int // "version vN ..." messages by version
	echoes   int
	lastAt   time.Time
	closed   atomic.Bool
	err      error
}

func dialWS(t *testing.T, s *service) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(suite.lab.WebURL, "http") + "/ws"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Host: s.host})
	require.NoError(t, err, "dialling %s for %s", url, s.host)
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	c := &wsClient{conn: conn, cancel: rcancel, versions: map[string]int{}}
	t.Cleanup(c.close)
	go func() {
		for {
			_, msg, err := conn.Read(rctx)
			c.mu.Lock()
			if err != nil {
				if !c.closed.Load() {
					c.err = err
				}
				c.mu.Unlock()
				return
			}
			c.lastAt = time.Now()
			if f := strings.Fields(string(msg)); len(f) >= 2 && f[0] == "version" {
				c.versions[f[1]]++
			} else if f[0] == "echo" {
				c.echoes++
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *wsClient) close() {
	if c.closed.Swap(true) {
		return
	}
	c.conn.Close(websocket.StatusNormalClosure, "")
	c.cancel()
}

func (c *wsClient) snapshot() (versions map[string]int, echoes int, last time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := map[string]int{}
	for k, n := range c.versions {
		v[k] = n
	}
	return v, c.echoes, c.lastAt, c.err
}

// startLingerKeeper runs `dswap keep` on the lab's routes directory for the test.
func startLingerKeeper(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, suite.dswap, "keep")
	cmd.Env = withEnv(os.Environ(),
		"DSWAP_ROUTES_DIR="+suite.lab.RoutesDir,
		"DSWAP_TRAEFIK_API="+suite.lab.APIURL,
		"DSWAP_TRAEFIK_CONTAINER="+suite.lab.TraefikName,
	)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		t.Logf("dswap keep:\n%s", stderr.String())
	})
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "keeping routes") }, 30*time.Second, 50*time.Millisecond, "dswap keep did not start:\n%s", stderr.String())
}

// containerRunning says whether a container exists and runs.
func containerRunning(id string) (exists, running bool) {
	out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", id).Output()
	if err != nil {
		return false, false
	}
	return true, strings.TrimSpace(string(out)) == "true"
}

// lingerWindow is how long the old sessions are watched after the flip.
// The issue asks 30 s; it is kept at that.
const lingerWindow = 30 * time.Second

// TestKeepConnectionsWebSockets: 20 WebSocket sessions on v1, a swap with
// --keep-connections 2m --drain 5s under HTTP load, a route keeper running
// (dswap keep). HTTP: 0 failed. dswap up returns at the flip and says it
// handed over; new sessions land on v2; the 20 old ones keep talking to v1
// for 30 s; once they close, v1 is stopped and removed within 5 s.
func TestKeepConnectionsWebSockets(t *testing.T) {
	svc := startService(t, "linger", serviceOpts{})
	startLingerKeeper(t)
	var old []*wsClient
	for range 20 {
		old = append(old, dialWS(t, svc))
	}
	require.Eventually(t, func() bool {
		for _, c := range old {
			if v, _, _, _ := c.snapshot(); v["v1"] == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the 20 sessions did not all hear from v1")

	run, rep := svc.swapUnderLoad(t, 8, "", image(imgV2), "--keep-connections", "2m", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	flipped := time.Now()
	assertNoFailedRequests(t, rep)
	assertNoMixedVersions(t, rep, "v2")
	var out struct {
		Lingering []string `json:"lingering"`
	}
	require.NoError(t, json.Unmarshal([]byte(lastLine(run.stdout)), &out))
	assert.Equal(t, []string{svc.name}, out.Lingering)
	assert.Contains(t, run.stderr, "handed over to the route keeper")
	assert.Less(t, run.took, time.Minute, "dswap up waited for the lingering container")

	// New sessions land on v2.
	fresh := dialWS(t, svc)
	require.Eventually(t, func() bool { v, _, _, _ := fresh.snapshot(); return v["v2"] > 0 }, 10*time.Second, 50*time.Millisecond)
	v, _, _, _ := fresh.snapshot()
	assert.Zero(t, v["v1"], "a new session reached the lingering v1")
	fresh.close()

	// dswap status shows the lingering container.
	st := runDswap(t, "status", svc.name)
	assert.Contains(t, st.stdout+st.stderr, "lingering")

	// The old sessions keep exchanging messages with v1.
	before := map[*wsClient]map[string]int{}
	for _, c := range old {
		v, _, _, _ := c.snapshot()
		before[c] = v
	}
	deadline := time.Now().Add(lingerWindow)
	for i := 0; time.Now().Before(deadline); i++ {
		for _, c := range old {
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			require.NoError(t, c.conn.Write(wctx, websocket.MessageText, []byte("ping")), "a v1 session was cut %s after the flip", time.Since(flipped))
			cancel()
		}
		time.Sleep(time.Second) // the clients' own pace: one echo a second
	}
	cut := 0
	for _, c := range old {
		v, echoes, last, err := c.snapshot()
		if err != nil || time.Since(last) > 2*time.Second {
			cut++
		}
		assert.Greater(t, v["v1"]-before[c]["v1"], int(lingerWindow/time.Second), "a session got too few v1 messages after the flip")
		assert.Zero(t, v["v2"])
		assert.GreaterOrEqual(t, echoes, int(lingerWindow/time.Second)-2)
	}
	assert.Zero(t, cut, "sessions cut during the linger")
	exists, running := containerRunning(svc.id)
	require.True(t, exists && running, "v1 is not running while its sessions are open")

	// The clients leave; v1 goes. At the flip v1 also holds the idle
	// keep-alive connections of Traefik's transport (8 here, one per load
	// client), which the count cannot tell from a quiet WebSocket: the
	// lab's Traefik closes them after 3 s idle
	// (serversTransport.forwardingTimeouts.idleConnTimeout; 90 s by
	// default), well before the clients leave.
	for _, c := range old {
		c.close()
	}
	closed := time.Now()
	require.Eventually(t, func() bool { exists, _ := containerRunning(svc.id); return !exists }, 20*time.Second, 50*time.Millisecond, "v1 was not removed after its sessions closed")
	gone := time.Since(closed)
	assert.Less(t, gone, 5*time.Second)
	h := runDswap(t, "history", svc.name)
	assert.Contains(t, h.stdout, "lingered")
	t.Logf("figures: requests=%d failed=%d sessions=20 cut=%d linger_watched=%s v1_removed_after_last_close=%.2fs dswap_up_took=%.2fs",
		rep.Total, rep.Failed, cut, lingerWindow, gone.Seconds(), run.took.Seconds())
}

// TestWithoutKeepConnectionsSessionsCut documents today's behaviour: the
// 20 sessions end when v1 is killed at the end of its drain window.
func TestWithoutKeepConnectionsSessionsCut(t *testing.T) {
	svc := startService(t, "nolinger", serviceOpts{})
	var old []*wsClient
	for range 20 {
		old = append(old, dialWS(t, svc))
	}
	require.Eventually(t, func() bool {
		for _, c := range old {
			if v, _, _, _ := c.snapshot(); v["v1"] == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond)
	run := svc.up(t, image(imgV2), "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	cut := 0
	for _, c := range old {
		if _, _, _, err := c.snapshot(); err != nil {
			cut++
		}
	}
	assert.Equal(t, 20, cut, "sessions cut by the end of the drain")
	t.Logf("figures: without --keep-connections sessions=20 cut=%d dswap_up_took=%.2fs", cut, run.took.Seconds())
}
