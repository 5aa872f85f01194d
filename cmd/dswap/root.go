package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	return runCLI(ctx, newCLI(stdout, stderr), args)
}

// runCLI runs the command line args with c, and returns dswap's exit code.
func runCLI(ctx context.Context, c *cli, args []string) (code int) {
	stdout, stderr := c.stdout, c.stderr
	// A panic would exit with Go's code 2, which means "bad input" here; a
	// CI step must not mistake a dswap bug for its own mistake.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "dswap: internal error: %v\n%s", r, debug.Stack())
			code = exitInternal
		}
	}()
	use := "dswap"
	if c.plugin {
		use = "docker swap"
	}
	root := &cobra.Command{
		Use:   use,
		Short: "Zero-downtime container swaps behind Traefik on one Docker host",
		Long: `dswap replaces the running container of a service with a new version without
dropping a request: it starts the new container beside the old one, waits until
it is healthy, moves Traefik's route to it (through Traefik's file provider,
confirmed by Traefik's API), then stops the old one with a drain window.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       currentBuild().Version,
	}
	root.SetVersionTemplate(currentBuild().String())
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usagef("%v", err)
	})
	root.AddCommand(newUpCommand(c), newSyncCommand(c), newRollbackCommand(c), newPromoteCommand(c), newAbortCommand(c),
		newStatusCommand(c), newHistoryCommand(c), newServeCommand(c), newKeepCommand(c),
		newVersionCommand(c), newDoctorCommand(c))
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil, errors.Is(err, errReported):
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "dswap: interrupted before traffic moved; the service is as it was (%v)\n", err)
	default:
		fmt.Fprintf(stderr, "dswap: %v\n", err)
	}
	return exitCode(err)
}

// errReported wraps an error already shown to the user in full.
var errReported = errors.New("reported")

type reportedError struct{ err error }

func (e reportedError) Error() string        { return e.err.Error() }
func (e reportedError) Unwrap() error        { return e.err }
func (e reportedError) Is(target error) bool { return target == errReported }
