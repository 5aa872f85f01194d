package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

// outcomeOf is the final object of a swap, with the exit code dswap ends
// with.
func outcomeOf(res *swap.Result, err error) server.Outcome {
	out := server.NewOutcome(res, err)
	out.ExitCode = exitCode(err)
	return out
}

// runRemoteUp hands the swap to the sidecar at host and follows it: its
// progress lines go to stderr as a local swap prints them, the final line
// (or JSON object) to stdout, and dswap exits with the code the swap's
// outcome carries, the same as a local swap's. The request it sends is
// the one a local `dswap up` would run.
func runRemoteUp(ctx context.Context, c *cli, host string, opts upOptions) error {
	if err := refuseLocalOnly(opts.changed, c.lookupEnv, host); err != nil {
		return err
	}
	in, err := readUpInputs(ctx, c, opts)
	if err != nil {
		return err
	}
	format, log := in.format, in.log
	for _, s := range settings.All {
		if v, ok := c.lookupEnv(s.Env); ok && v != "" && s.Remote == settings.SidecarOwn {
			log.Warn("ignoring "+s.Env+": the sidecar finds Traefik with its own settings", "phase", swap.PhasePlan.String(), "host", host)
		}
	}
	if in.target.Spec != nil {
		log.Warn("the sidecar swaps the compose service to the file's image with the file's settings; the file's labels, healthcheck and build are applied only by a local dswap up", "phase", swap.PhasePlan.String(), "service", in.request.Service)
	}
	token, err := clientToken(c.getenv)
	if err != nil {
		return err
	}
	client, err := server.NewClient(host, token)
	if err != nil {
		return usagef("%v", err)
	}

	handler := log.Handler()
	out, err := client.Up(ctx, in.request,
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
	c.actions.Finish(out)
	return reportOutcome(c.stdout, c.stderr, format, out)
}

// refuseLocalOnly refuses what only makes sense on this machine: a flag
// the sidecar cannot honour, or a variable of a setting that would be
// silently lost (a build, a registry login file).
func refuseLocalOnly(changed []string, lookup func(string) (string, bool), host string) error {
	var refused []string
	for _, name := range changed {
		if s := settings.Find(name); s == nil || s.Remote == settings.Refused || s.Remote == settings.SidecarOwn {
			refused = append(refused, "--"+name)
		}
	}
	for _, s := range settings.All {
		if v, ok := lookup(s.Env); ok && v != "" && s.Remote == settings.Refused {
			refused = append(refused, s.Env)
		}
	}
	if len(refused) > 0 {
		return usagef("%s cannot be used with DSWAP_HOST=%s: the sidecar there runs the swap with its own setup; unset DSWAP_HOST to swap on this machine", strings.Join(refused, ", "), host)
	}
	return nil
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
