package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/ghactions"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

// A paused canary (dswap up IMAGE --canary 10% --pause) ends with one of
// two commands: promote goes on, abort goes back. Both take the service's
// lock and read the canary from its route file (see swap/pause.go). With
// DSWAP_HOST they run on that sidecar (POST /v1/services/SERVICE/promote
// or /abort), followed as a remote dswap up is.

func newPromoteCommand(c *cli) *cobra.Command {
	return canaryEndCommand(c, "promote SERVICE", "Go on with a paused canary: its next steps, then the full flip and the drain of the old version",
		`Go on with SERVICE's paused canary: the steps after its weight (those it was
started with, or --canary), judged on --max-error-rate and --max-p99 if given,
then all the traffic on the new version, --monitor if set, and the drain of the
old containers. A failed step puts all the traffic back on the old version.`,
		func(s swapper) canaryEnd { return s.Promote })
}

func newAbortCommand(c *cli) *cobra.Command {
	return canaryEndCommand(c, "abort SERVICE", "End a paused canary: all the traffic back on the old version, the new containers removed",
		`End SERVICE's paused canary: the route goes back to the old version alone,
confirmed by Traefik, then the new containers are stopped with the drain window
and removed.`,
		func(s swapper) canaryEnd { return s.Abort })
}

// canaryEnd is Promote or Abort.
type canaryEnd func(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error)

// canaryEndOptions are what `dswap promote` or `dswap abort` was asked.
type canaryEndOptions struct {
	service  string
	format   string
	settings settings.Overrides
	connect  connectOptions
	// changed are the flags the user set, which a sidecar may refuse.
	changed []string
}

func canaryEndCommand(c *cli, use, short, long string, pick func(swapper) canaryEnd) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dswap %s needs exactly one SERVICE, got %d", cmd.Name(), len(args))
			}
			// Under GitHub Actions the step gets the summary and, on a
			// failure, the annotation with the figures, as dswap up's.
			c.actions = ghactions.New(c.getenv, c.stderr)
			opts := canaryEndOptions{service: args[0]}
			var err error
			if opts.settings, err = readSettings(cmd.Flags()); err != nil {
				return err
			}
			opts.format, _ = layeredString(cmd.Flags(), "output")
			if opts.connect, err = readConnectOptions(cmd.Flags()); err != nil {
				return err
			}
			cmd.Flags().Visit(func(f *pflag.Flag) { opts.changed = append(opts.changed, f.Name) })
			if host := c.getenv("DSWAP_HOST"); host != "" {
				return runRemoteCanaryEnd(cmd.Context(), c, host, cmd.Name(), opts)
			}
			return runCanaryEnd(cmd.Context(), c, opts, pick)
		},
	}
	fs := cmd.Flags()
	addFlags(fs, settings.GroupSwap)
	connectionFlags(fs)
	return cmd
}

func runCanaryEnd(ctx context.Context, c *cli, opts canaryEndOptions, pick func(swapper) canaryEnd) error {
	_, env, err := connectEnv(ctx, c, opts.format, opts.connect)
	if err != nil {
		return err
	}
	defer env.close()
	res, err := pick(env.swaps)(ctx, opts.service, opts.settings)
	c.actions.Finish(outcomeOf(res, err))
	if opts.format == "json" {
		return reportJSON(c.stdout, res, err)
	}
	return reportText(c.stdout, c.stderr, res, err)
}

// runRemoteCanaryEnd asks the sidecar at host to promote or abort (kind)
// and follows the run: its progress lines to stderr, the outcome to stdout,
// the exit code the outcome carries.
func runRemoteCanaryEnd(ctx context.Context, c *cli, host, kind string, opts canaryEndOptions) error {
	if err := refuseLocalOnly(opts.changed, c.lookupEnv, host); err != nil {
		return err
	}
	log, err := newLogger(opts.format, c.stderr, c.now())
	if err != nil {
		return err
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
	out, err := client.CanaryEnd(ctx, kind, opts.service, server.CanaryEndRequest{Overrides: opts.settings},
		func(id string) {
			log.Info("the dswap sidecar runs the "+kind, "phase", swap.PhasePlan.String(), "host", host, "swap", id)
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
	return reportOutcome(c.stdout, c.stderr, opts.format, out)
}
