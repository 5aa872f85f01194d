package lab

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Forwarder listens on 127.0.0.1 and hands every connection to a target
// address, byte for byte, in both directions. The load generator sends only
// to 127.0.0.1; a forwarder lets it reach a Traefik that listens in a
// network namespace of a test's own.
type Forwarder struct {
	URL string // http://127.0.0.1:<port>

	l      net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// forwardDialTimeout bounds a connection to the target.
const forwardDialTimeout = 5 * time.Second

// Forward starts a Forwarder to target (host:port).
func Forward(target string) (*Forwarder, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("forwarding 127.0.0.1 to %s: %w", target, err)
	}
	f := &Forwarder{URL: "http://" + l.Addr().String(), l: l, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

func (f *Forwarder) accept() {
	defer f.wg.Done()
	for {
		in, err := f.l.Accept()
		if err != nil {
			return
		}
		if !f.add(in) {
			_ = in.Close()
			return
		}
		f.wg.Add(1)
		go f.pipe(in)
	}
}

// pipe copies between in and a new connection to the target; a half-close
// on either side is passed on, so that HTTP keep-alive and EOF behave as on
// a direct connection.
func (f *Forwarder) pipe(in net.Conn) {
	defer f.wg.Done()
	defer f.remove(in)
	out, err := net.DialTimeout("tcp", f.target, forwardDialTimeout)
	if err != nil {
		return
	}
	if !f.add(out) {
		_ = out.Close()
		return
	}
	defer f.remove(out)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		_ = out.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(in, out)
	_ = in.(*net.TCPConn).CloseWrite()
	<-done
}

func (f *Forwarder) add(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *Forwarder) remove(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	_ = c.Close()
}

// Close stops listening, closes every open connection and waits for the
// copies to end.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	err := f.l.Close()
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}
