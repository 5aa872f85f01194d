package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

func newSyncCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync [SERVICE]",
		Short: "Write the Traefik routes of dswap-managed services for their running containers",
		Long: `Write each dswap-managed service's route file so that it points at exactly its
running containers, and confirm it through Traefik's API. Run it once after
"docker compose up -d" to adopt a service; "dswap up" keeps the routes after that.
A service is managed when its containers carry dswap.enable=true or dswap.service.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("dswap sync takes at most one SERVICE, got %d", len(args))
			}
			opts := syncOptions{}
			if len(args) == 1 {
				opts.service = args[0]
			}
			var err error
			if opts.settings, err = readSettings(cmd.Flags()); err != nil {
				return err
			}
			opts.format, _ = layeredString(cmd.Flags(), "output")
			if opts.connect, err = readConnectOptions(cmd.Flags()); err != nil {
				return err
			}
			return runSync(cmd.Context(), c, opts)
		},
	}
	fs := cmd.Flags()
	addFlag(fs, settings.Get("flip-timeout"))
	connectionFlags(fs)
	return cmd
}

// syncOptions are what `dswap sync` was asked.
type syncOptions struct {
	service  string // "" for every managed service
	format   string
	settings settings.Overrides
	connect  connectOptions
}

func runSync(ctx context.Context, c *cli, opts syncOptions) error {
	_, env, err := connectEnv(ctx, c, opts.format, opts.connect)
	if err != nil {
		return err
	}
	defer env.close()
	synced, err := env.swaps.Sync(ctx, opts.service, opts.settings)
	if opts.format == "json" {
		return reportSyncJSON(c.stdout, synced, err)
	}
	for _, s := range synced {
		fmt.Fprintf(c.stdout, "dswap: %s routed to %s (%s), confirmed in %s\n", s.Service, strings.Join(s.Containers, ", "), s.File, secs(s.Took))
	}
	return err
}

// syncResult is the final object of `dswap sync --output json`: result,
// exit_code and error as in a swap's, and the services routed.
type syncResult struct {
	Result   string       `json:"result"` // synced or error
	ExitCode int          `json:"exit_code"`
	Services []syncedJSON `json:"services"`
	Error    string       `json:"error,omitempty"`
}

type syncedJSON struct {
	Service     string   `json:"service"`
	Containers  []string `json:"containers"`
	File        string   `json:"file"`
	TookSeconds float64  `json:"took_seconds"`
}

func reportSyncJSON(stdout io.Writer, synced []swap.Synced, err error) error {
	out := syncResult{Result: "synced", ExitCode: exitCode(err), Services: []syncedJSON{}}
	for _, s := range synced {
		out.Services = append(out.Services, syncedJSON{Service: s.Service, Containers: s.Containers, File: s.File, TookSeconds: s.Took.Seconds()})
	}
	if err != nil {
		out.Result, out.Error = "error", err.Error()
	}
	if encErr := json.NewEncoder(stdout).Encode(out); encErr != nil {
		return encErr
	}
	if err != nil {
		return reportedError{err}
	}
	return nil
}
