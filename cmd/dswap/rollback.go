package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/settings"
)

func newRollbackCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback SERVICE",
		Short: "Swap a service back to the image it ran before its last swap",
		Long: `Swap SERVICE back to the image it ran before its last successful swap (from
its history), through the same zero-downtime path as "dswap up".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dswap rollback needs exactly one SERVICE, got %d", len(args))
			}
			opts := rollbackOptions{service: args[0]}
			var err error
			if opts.settings, err = readSettings(cmd.Flags()); err != nil {
				return err
			}
			opts.format, _ = layeredString(cmd.Flags(), "output")
			if opts.connect, err = readConnectOptions(cmd.Flags()); err != nil {
				return err
			}
			return runRollback(cmd.Context(), c, opts)
		},
	}
	fs := cmd.Flags()
	addFlags(fs, settings.GroupSwap)
	connectionFlags(fs)
	return cmd
}

// rollbackOptions are what `dswap rollback` was asked.
type rollbackOptions struct {
	service  string
	format   string
	settings settings.Overrides
	connect  connectOptions
}

func runRollback(ctx context.Context, c *cli, opts rollbackOptions) error {
	log, env, err := connectEnv(ctx, c, opts.format, opts.connect)
	if err != nil {
		return err
	}
	defer env.close()
	// A rollback while the version it goes back to still lingers (after
	// dswap up --keep-connections) starts a fresh container of it: the
	// lingering one is hidden from the service, so it is neither routed
	// again nor stopped here, and ends when its own connections do. Taking
	// it back into the route instead would skip the new container's health
	// check and leave its bound and record to be undone; a fresh container
	// costs one start and keeps both paths the same.
	res, err := env.swaps.Rollback(ctx, opts.service, opts.settings)
	if opts.format == "json" {
		err = reportJSON(c.stdout, res, err)
	} else {
		err = reportText(c.stdout, c.stderr, res, err)
	}
	// The version rolled back from lingers in turn when --keep-connections
	// (or dswap.keep-connections) applies: handed to a keeper, or waited
	// for here, as after dswap up.
	if lerr := finishLingers(ctx, c, env, res, log); lerr != nil && err == nil {
		return lerr
	}
	return err
}
