package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Address is where the API listens: a TCP address (127.0.0.1:7070,
// :7070) or a Unix socket (unix:///run/dswap.sock).
type Address struct {
	Network string // tcp or unix
	Addr    string
}

// ParseAddress reads --listen (or DSWAP_HOST on the client side, where
// http:// and https:// URLs are accepted too).
func ParseAddress(s string) (Address, error) {
	switch {
	case strings.HasPrefix(s, "unix://"):
		p := strings.TrimPrefix(s, "unix://")
		if p == "" || !filepath.IsAbs(p) {
			return Address{}, fmt.Errorf("%q: a Unix socket address needs an absolute path, e.g. unix:///run/dswap.sock", s)
		}
		return Address{Network: "unix", Addr: p}, nil
	case strings.HasPrefix(s, "tcp://"):
		s = strings.TrimPrefix(s, "tcp://")
	case strings.Contains(s, "://"):
		return Address{}, fmt.Errorf("%q: want HOST:PORT or unix:///PATH", s)
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return Address{}, fmt.Errorf("%q is not HOST:PORT (e.g. 127.0.0.1:7070) or unix:///PATH: %v", s, err)
	}
	return Address{Network: "tcp", Addr: s}, nil
}

func (a Address) String() string {
	if a.Network == "unix" {
		return "unix://" + a.Addr
	}
	return a.Addr
}

// Listen opens the address. A Unix socket is created with mode 0660 after
// removing a stale socket file; its directory is created if missing.
func Listen(a Address) (net.Listener, error) {
	if a.Network != "unix" {
		return net.Listen("tcp", a.Addr)
	}
	if err := os.MkdirAll(filepath.Dir(a.Addr), 0o755); err != nil {
		return nil, fmt.Errorf("creating the socket's directory: %w", err)
	}
	if st, err := os.Lstat(a.Addr); err == nil && st.Mode()&os.ModeSocket != 0 {
		// A socket nobody answers on is left over from a previous run.
		if c, err := net.DialTimeout("unix", a.Addr, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another process already listens on %s", a)
		}
		_ = os.Remove(a.Addr)
	}
	l, err := net.Listen("unix", a.Addr)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(a.Addr, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("restricting %s to its owner and group: %w", a, err)
	}
	return l, nil
}

// Serve answers on l until ctx ends, then stops taking requests and gives
// those in flight a moment to finish.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	l = limitConnections(l, maxConnections)
	srv := &http.Server{
		Handler: h,
		// No write timeout and no server-wide read timeout: event streams
		// and swaps with ?wait=true last as long as their swap. Bodies are
		// read within their own deadline (Server.readBody).
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	_ = srv.Close()
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
