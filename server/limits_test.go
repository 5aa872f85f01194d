package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawRequest sends a request's head and the first part of its body, then
// keeps the connection open without sending the rest, as a slow or
// malicious client does. It returns the status line, or "" if the server
// said nothing within wait.
func rawRequest(t *testing.T, addr, head string, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, head+"\r\n{\"action\":")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimSpace(line)
}

func TestGitHubHookRefusesAMissingSignatureBeforeReadingTheBody(t *testing.T) {
	_, hs, _ := testServer(t, Options{GitHubSecret: githubSecret})
	addr := strings.TrimPrefix(hs.URL, "http://")
	head := "POST /v1/hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: package\r\nContent-Length: 4000000\r\n"
	assert.Equal(t, "HTTP/1.1 401 Unauthorized", rawRequest(t, addr, head, 2*time.Second), "answered at once, without waiting for the body")
	head = "POST /v1/hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: package\r\nX-Hub-Signature-256: sha1=abc\r\nContent-Length: 4000000\r\n"
	assert.Equal(t, "HTTP/1.1 401 Unauthorized", rawRequest(t, addr, head, 2*time.Second))
}

func TestSlowBodiesAreCutAtTheBodyTimeout(t *testing.T) {
	_, hs, fb := testServer(t, Options{GitHubSecret: githubSecret, BodyTimeout: 300 * time.Millisecond})
	addr := strings.TrimPrefix(hs.URL, "http://")
	sig := signGitHub([]byte(githubSecret), []byte("{}"))
	for name, head := range map[string]string{
		"github hook":   "POST /v1/hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: package\r\nX-Hub-Signature-256: " + sig + "\r\nContent-Length: 4000000\r\n",
		"registry hook": "POST /v1/hooks/registry HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\nContent-Length: 4000000\r\n",
		"api":           "POST /v1/swaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\nContent-Length: 4000000\r\n",
	} {
		start := time.Now()
		status := rawRequest(t, addr, head, 3*time.Second)
		assert.Less(t, time.Since(start), 2*time.Second, "%s: the slow body is cut (%q)", name, status)
	}
	assert.Empty(t, fb.recorded())
}

func TestLongRequestsOutliveTheBodyTimeout(t *testing.T) {
	release := make(chan struct{})
	_, hs, _ := testServer(t, Options{Backend: gatedBackend(release), BodyTimeout: 200 * time.Millisecond})
	time.AfterFunc(time.Second, func() { close(release) })
	// A swap with ?wait=true answers when it ends, long after its body
	// was read: the body's deadline must not cut it.
	status, body := call(t, http.MethodPost, hs.URL+"/v1/services/web/swap?wait=true", `{"image":"myapp:v2"}`, nil)
	assert.Equal(t, http.StatusOK, status, string(body))
}

func TestConnectionLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ll := limitConnections(l, 2)
	defer ll.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ll.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				// Hold each connection until the client closes it.
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		conns = append(conns, c)
	}
	require.Eventually(t, func() bool { return accepted.Load() == 2 }, 2*time.Second, 10*time.Millisecond)
	assert.Never(t, func() bool { return accepted.Load() > 2 }, 300*time.Millisecond, 20*time.Millisecond, "the third waits for a free slot")
	conns[0].Close()
	assert.Eventually(t, func() bool { return accepted.Load() == 3 }, 2*time.Second, 10*time.Millisecond, "a closed connection frees its slot")
}
