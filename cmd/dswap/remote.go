package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

// withFinalReport wraps `dswap up`: with DSWAP_HOST set it hands the swap
// to that sidecar; either way it makes sure the command ends with its
// final report (the JSON object under --output json, the GitHub Actions
// summary) even when it stopped before any swap ran.
func withFinalReport(cmd *cobra.Command, stdout, stderr io.Writer) *cobra.Command {
	local := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		actions := newActionsReport(os.Getenv, stderr)
		c.SetContext(withActions(c.Context(), actions))
		var err error
		if host := os.Getenv("DSWAP_HOST"); host != "" {
			err = runRemoteUp(c, host, args, stdout, stderr)
		} else {
			err = local(c, args)
		}
		if err != nil && !errors.Is(err, errReported) {
			// Nothing reported yet: the command failed before its swap
			// could (bad flags, setup, an unreachable sidecar).
			if format, _ := layeredString(c.Flags(), "output"); format == "json" {
				_ = json.NewEncoder(stdout).Encode(outcomeOf(nil, err))
			}
		}
		// A no-op when the swap has reported already.
		actions.finish(outcomeOf(nil, err))
		return err
	}
	return cmd
}

// outcomeOf is the final object of a swap, with the exit code dswap ends
// with.
func outcomeOf(res *swap.Result, err error) server.Outcome {
	out := server.NewOutcome(res, err)
	out.ExitCode = exitCode(err)
	return out
}

// remoteFlags are the flags of `dswap up` a sidecar can honour; the others
// (a build context, local files, how to find Traefik) belong to the
// machine where the swap runs, which is the sidecar's.
var remoteFlags = []string{
	"service", "drain", "health-timeout", "health-cmd", "no-healthcheck", "settle", "flip-timeout",
	"probe-interval", "monitor", "pull", "force", "output", "lock-wait",
}

// runRemoteUp hands the swap to the sidecar at host and follows it: its
// progress lines go to stderr as a local swap prints them, the final line
// (or JSON object) to stdout, and dswap exits with the code the swap's
// outcome carries, the same as a local swap's.
func runRemoteUp(cmd *cobra.Command, host string, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return usagef("dswap up needs exactly one IMAGE argument, got %d", len(args))
	}
	image := args[0]
	start := time.Now()
	fs := cmd.Flags()
	var refused []string
	fs.Visit(func(f *pflag.Flag) {
		if !slices.Contains(remoteFlags, f.Name) {
			refused = append(refused, "--"+f.Name)
		}
	})
	if len(refused) > 0 {
		return usagef("%s cannot be used with DSWAP_HOST=%s: the sidecar there runs the swap with its own setup; unset DSWAP_HOST to swap on this machine", strings.Join(refused, ", "), host)
	}
	in, err := readUpInputs(cmd, stderr, start)
	if err != nil {
		return err
	}
	format, log, over, service := in.format, in.log, in.over, in.service
	pull, pullSet := layeredString(fs, "pull")
	if !pullSet {
		pull = "" // the sidecar's default
	} else if _, err := engine.ParsePullPolicy(pull); err != nil {
		return usagef("%v", err)
	}
	lockWait, err := layeredDuration(fs, "lock-wait")
	if err != nil {
		return err
	}
	token, err := clientToken(os.Getenv)
	if err != nil {
		return err
	}
	client, err := server.NewClient(host, token)
	if err != nil {
		return usagef("%v", err)
	}

	ctx := cmd.Context()
	req := server.NewSwapRequest(image, service, over, pull, in.force, lockWait)
	handler := log.Handler()
	out, err := client.Up(ctx, req,
		func(id string) {
			log.Info("the dswap sidecar runs the swap", "phase", swap.PhasePlan.String(), "host", host, "swap", id)
		},
		func(r slog.Record) {
			if handler.Enabled(ctx, r.Level) {
				_ = handler.Handle(ctx, r)
			}
		})
	if err != nil {
		return err
	}
	actionsOf(ctx).finish(out)
	return reportOutcome(stdout, stderr, format, out)
}

// reportOutcome prints a sidecar's outcome as a local swap prints its own.
func reportOutcome(stdout, stderr io.Writer, format string, out server.Outcome) error {
	var err error
	if !out.Succeeded() {
		err = &server.OutcomeError{Outcome: out}
	}
	if format == "json" {
		if encErr := json.NewEncoder(stdout).Encode(out); encErr != nil {
			return encErr
		}
		if err != nil {
			return reportedError{err}
		}
		return nil
	}
	switch out.Result {
	case "swapped", "noop":
		return reportText(stdout, stderr, out.SwapResult(), nil)
	case "failed":
		fmt.Fprintf(stderr, "dswap: %s\ndswap: %s\n", out.Error, out.Kept)
		if out.Details != "" {
			fmt.Fprintln(stderr, out.Details)
		}
		return reportedError{err}
	default:
		return err // the root prints it, as for a local error
	}
}

// clientToken is the sidecar's token: DSWAP_TOKEN, or the file named by
// DSWAP_TOKEN_FILE.
func clientToken(getenv func(string) string) (string, error) {
	if path := getenv("DSWAP_TOKEN_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usagef("DSWAP_TOKEN_FILE: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(getenv("DSWAP_TOKEN")), nil
}
