package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/server"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
)

func newStatusCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [SERVICE]",
		Short: "Show dswap-managed services, what Traefik routes to, and interrupted swaps",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("dswap status takes at most one SERVICE, got %d", len(args))
			}
			service := ""
			if len(args) == 1 {
				service = args[0]
			}
			format, _ := layeredString(cmd.Flags(), "output")
			conn, err := readConnectOptions(cmd.Flags())
			if err != nil {
				return err
			}
			return runStatus(cmd.Context(), c, statusOptions{service: service, format: format, connect: conn})
		},
	}
	connectionFlags(cmd.Flags())
	return cmd
}

// statusOptions are what `dswap status` was asked.
type statusOptions struct {
	service string // "" for every managed service
	format  string
	connect connectOptions
}

func runStatus(ctx context.Context, c *cli, opts statusOptions) error {
	format, stdout := opts.format, c.stdout
	_, env, err := connectEnv(ctx, c, format, opts.connect)
	if err != nil {
		return err
	}
	defer env.close()
	if opts.service != "" {
		if st, err := env.swarm.swarmStatus(ctx, opts.service); err != nil || st != nil {
			if err != nil {
				return err
			}
			if format == "json" {
				return json.NewEncoder(stdout).Encode([]any{st})
			}
			return printSwarmStatus(stdout, st)
		}
	}
	statuses, err := env.swaps.StatusOf(ctx, opts.service)
	if err != nil {
		return err
	}
	warnNoKeeper(ctx, env.dir, statuses, c.stderr)
	showLingers(env, c.stderr, c.now())
	out := make([]server.ServiceStatus, 0, len(statuses))
	for _, st := range statuses {
		out = append(out, server.StatusOf(st))
	}
	var swarmOut []*swarmswap.Status
	if opts.service == "" {
		if swarmOut, err = env.swarm.routedStatuses(ctx); err != nil {
			return err
		}
	}
	if format == "json" {
		all := make([]any, 0, len(out)+len(swarmOut))
		for _, st := range out {
			all = append(all, st)
		}
		for _, st := range swarmOut {
			all = append(all, st)
		}
		return json.NewEncoder(stdout).Encode(all)
	}
	for _, st := range swarmOut {
		if err := printSwarmStatus(stdout, st); err != nil {
			return err
		}
	}
	if len(out) == 0 && len(swarmOut) > 0 {
		return nil
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no dswap-managed services (label containers with dswap.enable=true or dswap.service=NAME)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tCONTAINER\tIMAGE\tSTATE\tHEALTH\tROUTED")
	for _, s := range out {
		slices.SortFunc(s.Containers, func(a, b server.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })
		for _, c := range s.Containers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Service, c.Name, c.Image, c.State, dash(c.Health), yesNo(c.Routed))
		}
		if s.Interrupted != "" {
			fmt.Fprintf(tw, "%s\t! %s\t\t\t\t\n", s.Service, s.Interrupted)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printCanaries(stdout, out)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
