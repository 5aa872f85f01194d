package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// sessions are WebSocket sessions held open through Traefik to the test
// app's /ws across a swap (scenario ws): the benchmark counts how many a
// deploy cuts.
type sessions struct {
	mu    sync.Mutex
	conns []*websocket.Conn
	// cutN counts sessions whose read failed before close was called.
	cutN    atomic.Int32
	closing atomic.Bool
	cancel  context.CancelFunc
}

// openSessions opens n sessions and waits (up to 20 s) until each has
// heard from version.
func openSessions(ctx context.Context, webURL string, n int, version string) (*sessions, error) {
	rctx, cancel := context.WithCancel(ctx)
	s := &sessions{cancel: cancel}
	url := "ws" + strings.TrimPrefix(webURL, "http") + "/ws"
	var heard atomic.Int32
	for i := range n {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		conn, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{Host: serviceHost})
		dcancel()
		if err != nil {
			s.close()
			return nil, fmt.Errorf("opening WebSocket session %d of %d to %s: %w", i+1, n, url, err)
		}
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.mu.Unlock()
		go func() {
			first := true
			for {
				_, msg, err := conn.Read(rctx)
				if err != nil {
					if !s.closing.Load() {
						s.cutN.Add(1)
					}
					return
				}
				if first && strings.HasPrefix(string(msg), "version "+version+" ") {
					first = false
					heard.Add(1)
				}
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for heard.Load() < int32(n) {
		if time.Now().After(deadline) {
			s.close()
			return nil, fmt.Errorf("only %d of %d WebSocket sessions heard from %s within 20s", heard.Load(), n, version)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// cut is how many sessions have ended without being closed by the client.
func (s *sessions) cut() int { return int(s.cutN.Load()) }

// close ends the sessions from the client's side.
func (s *sessions) close() {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close(websocket.StatusNormalClosure, "")
	}
	s.cancel()
}
