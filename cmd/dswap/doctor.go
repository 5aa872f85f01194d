package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/doctor"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/traefik"
)

func newDoctorCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor [SERVICE...]",
		Short: "Check this host's setup as dswap would use it, and say how to fix what is wrong",
		Long: `dswap doctor looks at Traefik (its file provider directory, API, version,
reload throttle and metrics), the routes directory, and every dswap-managed
service (health check, networks shared with Traefik, host ports, a second route
by Traefik's docker provider), and prints per check OK or what is wrong and the
fix. It changes nothing. It exits 2 when a check fails, 0 otherwise (warnings
included). With SERVICE arguments, only those services are checked.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, _ := layeredString(cmd.Flags(), "output")
			conn, err := readConnectOptions(cmd.Flags())
			if err != nil {
				return err
			}
			return runDoctor(cmd.Context(), c, doctorOptions{format: format, services: args, connect: conn})
		},
	}
	connectionFlags(cmd.Flags())
	return cmd
}

// doctorOptions are what `dswap doctor` was asked.
type doctorOptions struct {
	format   string
	services []string // "" for every managed service
	connect  connectOptions
}

func runDoctor(ctx context.Context, c *cli, opts doctorOptions) error {
	if opts.format != "text" && opts.format != "json" {
		return usagef("--output %q: want text or json", opts.format)
	}
	eng, err := engine.New(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	host, err := doctor.Gather(ctx, eng, doctor.Options{
		TraefikContainer: opts.connect.traefikContainer,
		RoutesDir:        opts.connect.routesDir,
		APIURL:           opts.connect.traefikAPI,
		NewAPI:           func(url string) (doctor.API, error) { return traefik.NewAPI(url) },
		KeeperRunning: func(ctx context.Context, routesDir string) (string, bool, error) {
			holder, running, err := runningKeeper(ctx, &traefik.Dir{Path: routesDir})
			return holder.String(), running, err
		},
		Now:      c.now,
		Services: opts.services,
	})
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	findings := doctor.Run(ctx, host)
	if err := printFindings(c, opts.format, findings); err != nil {
		return err
	}
	if doctor.Failed(findings) {
		return reportedError{badInput(errors.New("dswap doctor found problems"))}
	}
	return nil
}

func printFindings(c *cli, format string, findings []doctor.Finding) error {
	if format == "json" {
		return json.NewEncoder(c.stdout).Encode(struct {
			OK       bool             `json:"ok"`
			Findings []doctor.Finding `json:"findings"`
		}{!doctor.Failed(findings), findings})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(f.Status)), f.Check, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", f.Fix)
		}
	}
	return tw.Flush()
}
