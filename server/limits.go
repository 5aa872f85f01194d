package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Limits on what a client can hold of the sidecar. Requests that need no
// time of their own are answered quickly; what may take long is the
// answer (a swap with ?wait=true, an event stream), never the request.
const (
	// defaultBodyTimeout bounds the reading of one request's body. Every
	// body the sidecar takes is small, so a client that takes longer is
	// slow on purpose.
	defaultBodyTimeout = 10 * time.Second
	// maxConnections bounds the connections served at once; more wait in
	// the listen backlog until one closes. Event streams hold one each.
	maxConnections = 256
	// maxHeaderBytes bounds a request's head.
	maxHeaderBytes = 64 << 10
)

var errBodyTooLarge = errors.New("the request body is too large")

// readBody reads a request's body, at most limit bytes, within the body
// timeout, then lifts the connection's read deadline so that a long
// answer is not cut: net/http cancels a request's context when a read
// on its connection fails, and it keeps reading after the body to notice
// a client that goes away. When the body is not read at all (a request
// refused before it), the deadline stays and bounds the server's own
// discarding of the rest.
func (s *Server) readBody(w http.ResponseWriter, req *http.Request, limit int64) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("the request body did not arrive within %s", s.opts.BodyTimeout)
	case err != nil:
		return nil, fmt.Errorf("reading the request body: %w", err)
	case int64(len(data)) > limit:
		return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
	}
	_ = rc.SetReadDeadline(time.Time{})
	return data, nil
}

// boundedBodies reads every API request's body (after its token was
// checked) within the body timeout, and hands the handler the bytes.
func (s *Server) boundedBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		data, err := s.readBody(w, req, maxRequestBody)
		if err != nil {
			status := http.StatusRequestTimeout
			if errors.Is(err, errBodyTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			w.Header().Set("Connection", "close")
			writeError(w, status, err.Error())
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
		next.ServeHTTP(w, req)
	})
}

// limitConnections lets at most n connections be open at once: Accept
// waits for one to close before it takes another.
func limitConnections(l net.Listener, n int) net.Listener {
	return &limitedListener{Listener: l, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
