package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

func newRollbackCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback SERVICE",
		Short: "Swap a service back to the image it ran before its last swap",
		Long: `Swap SERVICE back to the image it ran before its last successful swap (from
its history), through the same zero-downtime path as "dswap up".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dswap rollback needs exactly one SERVICE, got %d", len(args))
			}
			return runRollback(cmd, args[0], stdout, stderr)
		},
	}
	fs := cmd.Flags()
	addFlags(fs, settings.GroupSwap)
	connectionFlags(fs)
	return cmd
}

func runRollback(cmd *cobra.Command, service string, stdout, stderr io.Writer) error {
	over, err := readSettings(cmd.Flags())
	if err != nil {
		return err
	}
	format, env, err := commandEnv(cmd, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	res, err := swap.New(env.deps).Rollback(cmd.Context(), service, over)
	if format == "json" {
		return reportJSON(stdout, res, err)
	}
	return reportText(stdout, stderr, res, err)
}
