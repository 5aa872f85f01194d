// Command testapp is the service that dswap's lab runs behind Traefik in
// e2e tests, the demo and the benchmark. It answers with its VERSION, has a
// controllable readiness, delay, crash and SIGTERM behaviour, and probes its
// own health for a FROM scratch image's HEALTHCHECK.
//
// Usage:
//
//	testapp [serve]   serve HTTP on :$PORT (default 8080)
//	testapp health    exit 0 if http://127.0.0.1:$PORT/healthz answers 200
//
// Environment of serve: VERSION, PORT, DELAY, READY_AFTER, NEVER_HEALTHY=1,
// CRASH_AFTER, FAIL_AFTER (health turns 503 that long after ready), EXIT_AT_START=1, ON_SIGTERM=close|ignore|linger:DURATION,
// HEALTHY_SLOTS=N with HEALTHY_SLOTS_DIR (only N containers sharing the directory ever turn healthy).
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if filepath.Base(os.Args[0]) == "sh" {
		// Installed as /bin/sh in a test image (lab.AppImage.Shell).
		os.Exit(runShell(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// usage is printed for help and for unknown commands.
const usage = `usage:
  testapp [serve]   serve HTTP on :$PORT (default 8080)
  testapp health    probe http://127.0.0.1:$PORT/healthz; exit 0 on 200
  testapp task ...  a release task for dswap's tests (see task.go)
`

// run dispatches the command line and returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return runServe(getenv, stdout, stderr)
	case "health":
		return runHealth(getenv, stdout, stderr)
	case "task":
		return runTask(args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "testapp: unknown command %q\n%s", cmd, usage)
		return exitBadConfig
	}
}
