package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

func newUpCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up IMAGE | up SERVICE [-f COMPOSE_FILE]...",
		Short: "Swap a service to IMAGE (or a compose SERVICE to its file's image) with zero downtime",
		Long: `Start IMAGE as a sibling of the service's running container(s), wait until it is
healthy, move Traefik's route to it and confirm Traefik applied it, then stop the
old container(s) with the drain window as stop timeout, and remove them.

The argument is a compose SERVICE when a compose file is found (-f, COMPOSE_FILE,
or compose.yaml and the other default names, as docker compose finds them) and
defines a service of that name: dswap then takes its image (or --image), build
section, labels, healthcheck, stop_grace_period and deploy settings from the file.
Otherwise it is an IMAGE, and the service is --service, else the dswap.service
label, else the compose service, else the image's repository.

Settings come from flags, then DSWAP_* variables, then the compose file
(x-dswap, deploy.update_config, deploy.replicas, stop_grace_period, its dswap.*
labels), then dswap.* labels on the running service, then defaults.`,
		Example: `  dswap up myapp:v2
  dswap up myapp:v2 --service web --drain 10s
  dswap up web                          # compose service web, image from compose.yaml
  dswap up web -f deploy/compose.yml --image myapp:v2
  dswap up registry.example.com/myapp:v2 --pull always --registry-auth-file /run/secrets/registry
  dswap up myapp:v2 --build . --build-arg VERSION=v2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dswap up needs exactly one IMAGE or compose SERVICE argument, got %d", len(args))
			}
			return runUp(cmd, args[0], stdout, stderr)
		},
	}
	fs := cmd.Flags()
	addFlags(fs, settings.GroupSwap)
	addFlags(fs, settings.GroupUp)
	connectionFlags(fs)
	reportFlags(fs)
	return cmd
}

func runUp(cmd *cobra.Command, arg string, stdout, stderr io.Writer) error {
	fs := cmd.Flags()
	in, err := readUpInputs(cmd, arg, stderr, time.Now())
	if err != nil {
		return err
	}
	ctx, log := cmd.Context(), in.log
	env, err := setup(ctx, fs, log)
	if err != nil {
		return err
	}
	defer env.close()
	if err := in.target.prepareBuild(ctx, fs, env, log); err != nil {
		return err
	}

	req := swapRequest(in.request)
	in.target.request(&req, log)
	report := startReport(ctx, fs, env, log)
	res, err := swap.New(env.deps).Up(ctx, req)
	report.finish(ctx, res)
	actionsOf(ctx).finish(outcomeOf(res, err))
	if in.format == "json" {
		return reportJSON(stdout, res, err)
	}
	return reportText(stdout, stderr, res, err)
}

// upInputs are what a local and a remote `dswap up` read the same way.
type upInputs struct {
	format string
	log    *slog.Logger
	target *upTarget
	// request is the swap asked for: the image, the service and the
	// settings of flags, DSWAP_* variables and the compose file. It runs
	// here, or goes to the sidecar as it is.
	request settings.Request
}

func readUpInputs(cmd *cobra.Command, arg string, stderr io.Writer, start time.Time) (upInputs, error) {
	fs := cmd.Flags()
	var in upInputs
	in.format, _ = layeredString(fs, "output")
	log, err := newLogger(in.format, stderr, start)
	if err != nil {
		return in, err
	}
	in.log = actionsOf(cmd.Context()).wrap(log)
	over, err := readSettings(fs)
	if err != nil {
		return in, err
	}
	if in.target, err = resolveUp(cmd.Context(), fs, arg, in.log); err != nil {
		return in, err
	}
	if over, err = in.target.overrides(over, in.log); err != nil {
		return in, err
	}
	service, _ := layeredString(fs, "service")
	if in.target.service != "" {
		service = in.target.service
	}
	in.request = settings.Request{Image: in.target.image, Service: service, Overrides: over}
	return in, nil
}

// swapRequest is what package swap runs for a request.
func swapRequest(r settings.Request) swap.Request {
	return swap.Request{Image: r.Image, Service: r.Service, Overrides: r.Overrides, Force: r.Force != nil && *r.Force}
}

func reportText(stdout, stderr io.Writer, res *swap.Result, err error) error {
	var failed *swap.FailedError
	switch {
	case err == nil && res.Noop:
		fmt.Fprintf(stdout, "dswap: %s already runs %s (%s); nothing swapped\n", res.Service, res.ToImage, strings.Join(res.New, ", "))
		return nil
	case err == nil:
		from := "nothing"
		if res.FromImage != "" {
			from = fmt.Sprintf("%s (%s)", res.FromImage, strings.Join(res.Old, ", "))
		}
		fmt.Fprintf(stdout, "dswap: %s now runs %s (%s), was %s; healthy after %s, traffic moved %s later, total %s\n",
			res.Service, res.ToImage, strings.Join(res.New, ", "), from,
			secs(res.HealthyAfter), secs(res.RoutedAfterHealthy), secs(res.Total))
		return nil
	case errors.As(err, &failed):
		fmt.Fprintf(stderr, "dswap: %v\ndswap: %s\n", failed, failed.Kept)
		if d := failed.Details(); d != "" {
			fmt.Fprintln(stderr, d)
		}
		return reportedError{err}
	default:
		return err
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// reportJSON prints the final object of --output json (see README.md,
// "Output"): the same object a sidecar's API answers with.
func reportJSON(stdout io.Writer, res *swap.Result, err error) error {
	if encErr := json.NewEncoder(stdout).Encode(outcomeOf(res, err)); encErr != nil {
		return encErr
	}
	if err != nil {
		return reportedError{err}
	}
	return nil
}
