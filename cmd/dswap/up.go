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
	"github.com/spf13/pflag"

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
	fs.String("service", "", "service to swap (default: found from the image)")
	composeFlags(fs)
	swapFlags(fs)
	fs.String("pull", "missing", "when to pull IMAGE: missing, always or never")
	imageFlags(fs)
	fs.Bool("force", false, "swap even if the service already runs IMAGE")
	connectionFlags(fs)
	reportFlags(fs)
	return cmd
}

func runUp(cmd *cobra.Command, arg string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := cmd.Flags()
	in, err := readUpInputs(cmd, stderr, start)
	if err != nil {
		return err
	}
	format, log, over, service := in.format, in.log, in.over, in.service

	ctx := cmd.Context()
	target, err := resolveUp(ctx, fs, arg, log)
	if err != nil {
		return err
	}
	if over, err = target.overrides(over, log); err != nil {
		return err
	}
	if target.service != "" {
		service = target.service
	}
	env, err := setup(ctx, fs, log)
	if err != nil {
		return err
	}
	defer env.close()
	if err := target.prepareBuild(ctx, fs, env, log); err != nil {
		return err
	}

	req := swap.Request{Image: target.image, Service: service, Overrides: over, Force: in.force}
	target.request(&req, log)
	report := startReport(ctx, fs, env, log)
	res, err := swap.New(env.deps).Up(ctx, req)
	report.finish(ctx, res)
	actionsOf(ctx).finish(outcomeOf(res, err))
	if format == "json" {
		return reportJSON(stdout, res, err)
	}
	return reportText(stdout, stderr, res, err)
}

// upInputs are what a local and a remote `dswap up` read the same way.
type upInputs struct {
	format  string
	log     *slog.Logger
	over    swap.Overrides
	service string
	force   bool
}

func readUpInputs(cmd *cobra.Command, stderr io.Writer, start time.Time) (upInputs, error) {
	fs := cmd.Flags()
	var in upInputs
	in.format, _ = layeredString(fs, "output")
	log, err := newLogger(in.format, stderr, start)
	if err != nil {
		return in, err
	}
	in.log = actionsOf(cmd.Context()).wrap(log)
	if in.over, err = swapOverrides(fs); err != nil {
		return in, err
	}
	in.service, _ = layeredString(fs, "service")
	force, err := layeredBool(fs, "force")
	if err != nil {
		return in, err
	}
	in.force = force != nil && *force
	return in, nil
}

// swapFlags are the settings of a swap, shared by up and rollback.
func swapFlags(fs *pflag.FlagSet) {
	fs.Duration("drain", 0, "stop timeout for the old container; it is killed if still running after it (default 30s or the dswap.drain label)")
	fs.Duration("health-timeout", 0, "how long to wait for the new container to be healthy (default: from its HEALTHCHECK)")
	fs.String("health-cmd", "", "HEALTHCHECK for an image without one: a shell command, or a JSON array for the exec form")
	fs.Bool("no-healthcheck", false, "accept a new container without a HEALTHCHECK once it stayed up for --settle")
	fs.Duration("settle", 0, "with --no-healthcheck, how long the new container must stay up (default 10s)")
	fs.Duration("flip-timeout", 0, "how long to wait for Traefik to show the new route (default 15s)")
	fs.Duration("probe-interval", 0, "how often dswap runs the new container's HEALTHCHECK test itself while it starts, so a long HEALTHCHECK interval does not delay traffic; 0s leaves it to Docker (default 250ms)")
	fs.Duration("monitor", 0, "after the flip, keep the old container(s) this long and move traffic back if a new one dies or turns unhealthy (default 0: no monitor)")
	fs.Int("parallelism", 0, "replicas replaced per batch (default 1); 0 with --atomic")
	fs.Bool("atomic", false, "start all new replicas, then move traffic to all of them in one flip: no mixed versions")
	fs.Duration("update-delay", 0, "pause between batches")
	fs.String("order", "", "start-first (default: capacity never drops) or stop-first (for containers that cannot run twice)")
	fs.String("failure-action", "", "when a batch fails: rollback (default) or pause")
	fs.Float64("max-failure-ratio", 0, "share of replicas that may fail to update before --failure-action applies")
	fs.Int("scale", 0, "number of replicas after the update (default: as many as run now)")
}

// swapOverrides reads the swap settings from flags and DSWAP_* variables.
func swapOverrides(fs *pflag.FlagSet) (swap.Overrides, error) {
	var over swap.Overrides
	var err error
	for _, d := range []struct {
		name string
		dst  **time.Duration
	}{{"drain", &over.Drain}, {"health-timeout", &over.HealthTimeout}, {"settle", &over.Settle}, {"flip-timeout", &over.FlipTimeout}, {"probe-interval", &over.ProbeInterval}, {"monitor", &over.Monitor}} {
		if *d.dst, err = layeredDuration(fs, d.name); err != nil {
			return over, err
		}
	}
	if over.NoHealthcheck, err = layeredBool(fs, "no-healthcheck"); err != nil {
		return over, err
	}
	over.HealthCmd = layeredOptString(fs, "health-cmd")
	if over.Delay, err = layeredDuration(fs, "update-delay"); err != nil {
		return over, err
	}
	if over.Parallelism, err = layeredInt(fs, "parallelism"); err != nil {
		return over, err
	}
	if over.Replicas, err = layeredInt(fs, "scale"); err != nil {
		return over, err
	}
	if over.MaxFailureRatio, err = layeredFloat(fs, "max-failure-ratio"); err != nil {
		return over, err
	}
	over.Order = layeredOptString(fs, "order")
	over.FailureAction = layeredOptString(fs, "failure-action")
	atomic, err := layeredBool(fs, "atomic")
	if err != nil {
		return over, err
	}
	if atomic != nil && *atomic {
		if over.Parallelism != nil && *over.Parallelism != 0 {
			return over, usagef("--atomic replaces every replica in one batch; it cannot be combined with --parallelism %d", *over.Parallelism)
		}
		all := 0
		over.Parallelism = &all
	}
	return over, nil
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
