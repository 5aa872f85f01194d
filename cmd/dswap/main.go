// Command dswap swaps the container(s) of a service for a new version
// without dropping a request, behind Traefik.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dswap-dev/dswap/dockercli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	home, _ := os.UserHomeDir()
	call, done, err := asPlugin(os.Args[0], args, dockercli.Env{Getenv: os.Getenv, Home: home}, os.Stdout)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "docker swap: %v\n", err)
		stop()
		os.Exit(exitCode(err))
	case done:
		stop()
		os.Exit(exitOK)
	}
	c := newCLI(os.Stdout, os.Stderr)
	if call != nil {
		// The Engine client reads DOCKER_HOST and the TLS variables from
		// the environment; setting them here, before anything else runs,
		// gives dswap the Engine of the docker CLI's context, as the
		// docker CLI itself would use.
		for k, v := range call.env {
			_ = os.Setenv(k, v)
		}
		args, c.plugin = call.args, true
	}
	code := runCLI(ctx, c, args)
	stop()
	os.Exit(code)
}
