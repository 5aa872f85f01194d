package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/swap"
)

func newHistoryCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history SERVICE",
		Short: "List a service's past swaps",
		Long: `List SERVICE's past swaps, oldest first: when, from and to which image (ID and
digest), the result and how long it took. dswap keeps the record beside the
route files, because Docker forgets a container once it is removed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dswap history needs exactly one SERVICE, got %d", len(args))
			}
			format, _ := layeredString(cmd.Flags(), "output")
			conn, err := readConnectOptions(cmd.Flags())
			if err != nil {
				return err
			}
			return runHistory(cmd.Context(), c, historyOptions{service: args[0], format: format, connect: conn})
		},
	}
	connectionFlags(cmd.Flags())
	return cmd
}

// historyOptions are what `dswap history` was asked.
type historyOptions struct {
	service string
	format  string
	connect connectOptions
}

func runHistory(ctx context.Context, c *cli, opts historyOptions) error {
	format, stdout, service := opts.format, c.stdout, opts.service
	_, env, err := connectEnv(ctx, c, format, opts.connect)
	if err != nil {
		return err
	}
	defer env.close()
	key, name := swap.KeyOf(service), service
	if isSwarm, err := env.swarm.isSwarm(ctx, service); err != nil {
		return err
	} else if !isSwarm {
		all, err := env.deps.Docker.List(ctx, engine.ListFilter{All: true})
		if err != nil {
			return err
		}
		svc, err := swap.FindService(all, service, "")
		if err != nil {
			return err
		}
		key, name = svc.Key(), svc.Name
	}
	entries, err := env.deps.History.Read(key)
	if err != nil {
		return err
	}
	if format == "json" {
		return json.NewEncoder(stdout).Encode(entries)
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "no swaps of %s are recorded\n", name)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tRESULT\tFROM\tTO\tIMAGE ID\tDIGEST\tTOOK\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Started.Local().Format("2006-01-02 15:04:05"), e.Result, dash(e.FromImage), e.ToImage,
			dash(shortID(e.ToImageID)), dash(digestOnly(e.ToDigest)), e.Duration.Round(10*time.Millisecond), dash(firstLine(e.Reason)))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func digestOnly(repoDigest string) string {
	if _, d, ok := strings.Cut(repoDigest, "@"); ok {
		return shortID(d)
	}
	return shortID(repoDigest)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
