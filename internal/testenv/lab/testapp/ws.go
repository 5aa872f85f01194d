package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsTick is how often a WebSocket session is told the version it talks to.
const wsTick = 500 * time.Millisecond

// handleWebSocket serves /ws: a long-lived session that sends
// "version <v> <hostname>" every wsTick and echoes every message back as
// "echo <message>". It ends when the client closes or the process exits;
// it is not closed on SIGTERM, so a test sees whether the container was
// left running (or was killed at the end of its drain window).
func (s *service) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()
	// The request's context ends when the handler returns; the session's
	// own ends when reading fails (the client went away).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var writeMu sync.Mutex
	send := func(msg string) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		return conn.Write(wctx, websocket.MessageText, []byte(msg))
	}
	go func() {
		defer cancel()
		for {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if send("echo "+string(msg)) != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(wsTick)
	defer tick.Stop()
	for {
		if send(fmt.Sprintf("version %s %s", s.version, s.hostname)) != nil {
			return
		}
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-tick.C:
		}
	}
}
