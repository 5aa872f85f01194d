package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

func newStatusCommand(stdout, stderr io.Writer) *cobra.Command {
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
			return runStatus(cmd, service, stdout, stderr)
		},
	}
	connectionFlags(cmd.Flags())
	return cmd
}

func runStatus(cmd *cobra.Command, service string, stdout, stderr io.Writer) error {
	format, env, err := commandEnv(cmd, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	statuses, err := swap.New(env.deps).StatusOf(cmd.Context(), service)
	if err != nil {
		return err
	}
	warnNoKeeper(cmd.Context(), env.dir, statuses, stderr)
	out := make([]server.ServiceStatus, 0, len(statuses))
	for _, st := range statuses {
		out = append(out, server.StatusOf(st))
	}
	if format == "json" {
		return json.NewEncoder(stdout).Encode(out)
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
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
