package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

// A paused canary (dswap up IMAGE --canary 10% --pause) ends with one of
// two commands: promote goes on, abort goes back. Both take the service's
// lock and read the canary from its route file (see swap/pause.go).

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
			opts := canaryEndOptions{service: args[0]}
			var err error
			if opts.settings, err = readSettings(cmd.Flags()); err != nil {
				return err
			}
			opts.format, _ = layeredString(cmd.Flags(), "output")
			if opts.connect, err = readConnectOptions(cmd.Flags()); err != nil {
				return err
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
	if opts.format == "json" {
		return reportJSON(c.stdout, res, err)
	}
	return reportText(c.stdout, c.stderr, res, err)
}
