package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes of the serve command. They are distinct so that e2e tests and
// dswap's failure reports can tell a deliberate crash from a start failure.
const (
	exitOK          = 0
	exitServeFailed = 1
	exitBadConfig   = 2
	exitAtStart     = 3
	exitCrash       = 4
)

// newLogger returns the logger for lifecycle lines. Microsecond timestamps
// let a reader of `docker logs` line the shutdown steps up with a load run.
func newLogger(w io.Writer) *log.Logger {
	return log.New(w, "testapp: ", log.LstdFlags|log.Lmicroseconds|log.LUTC|log.Lmsgprefix)
}

// runServe is the serve command: it reads the environment, listens on
// :$PORT and serves until a signal or CRASH_AFTER ends it.
func runServe(getenv func(string) string, stdout, stderr io.Writer) int {
	// EXIT_AT_START is checked before anything else so that it fails the same
	// way whatever else is configured.
	if getenv("EXIT_AT_START") == "1" {
		fmt.Fprintln(stderr, "testapp: exiting at start because EXIT_AT_START=1")
		return exitAtStart
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "testapp: invalid configuration: %v\n", err)
		return exitBadConfig
	}
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown"
	}
	slot, mayBeHealthy, err := claimHealthySlot(getenv, hostname)
	if err != nil {
		fmt.Fprintf(stderr, "testapp: invalid configuration: %v\n", err)
		return exitBadConfig
	}
	if !mayBeHealthy {
		fmt.Fprintln(stderr, "testapp: every HEALTHY_SLOTS slot is taken; this container never turns healthy")
		cfg.NeverHealthy = true
	} else if slot >= 0 {
		fmt.Fprintf(stderr, "testapp: holding healthy slot %d\n", slot)
	}
	start := time.Now()
	ln, err := net.Listen("tcp", ":"+cfg.Port)
	if err != nil {
		fmt.Fprintf(stderr, "testapp: listening on :%s: %v\n", cfg.Port, err)
		return exitServeFailed
	}
	// SIGINT is handled too: as PID 1 in a container an unhandled signal is
	// dropped by the kernel, and images may set STOPSIGNAL SIGINT.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	return serve(cfg, newService(cfg, hostname, start), ln, signals, newLogger(stdout))
}

// serve runs the HTTP server on ln until a signal (as ON_SIGTERM says) or
// CRASH_AFTER ends it, and returns the process exit code. Signals arrive on a
// channel so that tests can deliver them without signalling the test binary.
func serve(cfg config, svc *service, ln net.Listener, signals <-chan os.Signal, logger *log.Logger) int {
	srv := &http.Server{
		Handler:           cfg.Faults.wrap(svc.routes()),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Printf("version=%q hostname=%q listening on %s (delay=%s ready_after=%s never_healthy=%t crash_after=%s on_sigterm=%s)",
		cfg.Version, svc.hostname, ln.Addr(), cfg.Delay, cfg.ReadyAfter, cfg.NeverHealthy, cfg.CrashAfter, cfg.OnSigterm)

	var readyC <-chan time.Time
	readyTimer := time.NewTimer(time.Until(svc.readyAt))
	defer readyTimer.Stop()
	readyC = readyTimer.C

	// CRASH_AFTER counts from the moment readiness is reached (READY_AFTER
	// after start), which is also when it counts with NEVER_HEALTHY=1.
	var crashC <-chan time.Time
	if cfg.CrashAfter > 0 {
		crashTimer := time.NewTimer(time.Until(svc.readyAt.Add(cfg.CrashAfter)))
		defer crashTimer.Stop()
		crashC = crashTimer.C
	}

	var lingerC <-chan time.Time
	for {
		select {
		case err := <-serveErr:
			logger.Printf("server stopped unexpectedly: %v", err)
			return exitServeFailed
		case <-readyC:
			readyC = nil
			if cfg.NeverHealthy {
				logger.Printf("start-up done, but /healthz stays 503 because NEVER_HEALTHY=1")
			} else {
				logger.Printf("ready: /healthz now answers 200")
			}
		case <-crashC:
			logger.Printf("crashing on purpose: CRASH_AFTER=%s elapsed since ready; exiting with code %d", cfg.CrashAfter, exitCrash)
			return exitCrash
		case <-lingerC:
			logger.Printf("linger of %s after SIGTERM is over", cfg.OnSigterm.Linger)
			return shutdown(srv, serveErr, signals, cfg.ShutdownTimeout, logger)
		case sig := <-signals:
			logger.Printf("received signal %s", sig)
			if sig != syscall.SIGTERM {
				return shutdown(srv, serveErr, signals, cfg.ShutdownTimeout, logger)
			}
			switch cfg.OnSigterm.Mode {
			case sigtermIgnore:
				logger.Printf("ignoring SIGTERM because ON_SIGTERM=ignore; only SIGKILL stops this process")
			case sigtermLinger:
				if lingerC != nil {
					logger.Printf("already lingering; this SIGTERM changes nothing")
					continue
				}
				logger.Printf("lingering: serving normally for %s before shutting down (ON_SIGTERM=%s)", cfg.OnSigterm.Linger, cfg.OnSigterm)
				lingerC = time.After(cfg.OnSigterm.Linger)
			default:
				return shutdown(srv, serveErr, signals, cfg.ShutdownTimeout, logger)
			}
		}
	}
}

// shutdown closes the listener at once, waits up to timeout for in-flight
// requests to finish and returns the exit code. Signals that arrive meanwhile
// are logged so that `docker logs` shows every signal the container got.
func shutdown(srv *http.Server, serveErr <-chan error, signals <-chan os.Signal, timeout time.Duration, logger *log.Logger) int {
	logger.Printf("shutting down: listener closed, waiting up to %s for in-flight requests", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	for {
		select {
		case sig := <-signals:
			logger.Printf("received signal %s while shutting down; still draining", sig)
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				logger.Printf("server stopped unexpectedly while shutting down: %v", err)
			}
		case err := <-done:
			if err != nil {
				logger.Printf("shutdown did not finish within %s (%v); closing remaining connections and exiting with code %d", timeout, err, exitServeFailed)
				_ = srv.Close()
				return exitServeFailed
			}
			logger.Printf("shutdown complete: all in-flight requests finished; exiting with code %d", exitOK)
			return exitOK
		}
	}
}
