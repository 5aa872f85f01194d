package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/ghactions"
	"github.com/dswap-dev/dswap/notify"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
)

func newUpCommand(c *cli) *cobra.Command {
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
			// Nothing reported yet when reading the options fails: the
			// final report still comes (the JSON object, the Actions
			// summary).
			c.actions = ghactions.New(c.getenv, c.stderr)
			format, _ := layeredString(cmd.Flags(), "output")
			opts, err := readUpOptions(cmd.Flags(), args)
			host := c.getenv("DSWAP_HOST")
			switch {
			case err != nil:
			case host != "":
				err = runRemoteUp(cmd.Context(), c, host, opts)
			default:
				// Only a local swap connects: a sidecar has its own setup.
				if opts.connect, err = readConnectOptions(cmd.Flags()); err == nil {
					if opts.notify, err = readNotifyOptions(cmd.Flags(), c.getenv); err == nil {
						err = runUp(cmd.Context(), c, opts)
					}
				}
			}
			return finalReport(c, format, err)
		},
	}
	fs := cmd.Flags()
	addFlags(fs, settings.GroupSwap)
	addFlags(fs, settings.GroupUp)
	connectionFlags(fs)
	notifyFlags(fs)
	fs.String("report", "", "write an SVG timeline of the swap to this file (phases, and Traefik's request rate for the service when its Prometheus metrics answer), e.g. as a CI artifact")
	return cmd
}

// upOptions are what `dswap up` was asked, read from its flags and DSWAP_*
// variables.
type upOptions struct {
	format string // --output: text or json
	// target is what the argument means: an image or a compose service.
	target     compose.TargetOptions
	imageGiven bool   // --image was passed
	service    string // --service or DSWAP_SERVICE
	// settings are the swap settings of flags and variables; the compose
	// file's come below them.
	settings settings.Overrides
	report   string // --report: the SVG to write
	// changed are the flags the user set, which a sidecar may refuse.
	changed []string
	connect connectOptions
	// notify is where a local swap's end is announced (a sidecar's swap
	// is announced by the sidecar).
	notify notify.Options
}

func readUpOptions(fs *pflag.FlagSet, args []string) (upOptions, error) {
	var o upOptions
	if len(args) != 1 {
		return o, usagef("dswap up needs exactly one IMAGE or compose SERVICE argument, got %d", len(args))
	}
	o.format, _ = layeredString(fs, "output")
	image, _ := fs.GetString("image")
	projectName, _ := fs.GetString("project-name")
	files, _ := fs.GetStringArray("file")
	build, _ := fs.GetString("build")
	o.target = compose.TargetOptions{Arg: args[0], Image: image, ProjectName: projectName, Files: files, ServiceGiven: fs.Changed("service"), Build: build}
	o.imageGiven = fs.Changed("image")
	o.service, _ = layeredString(fs, "service")
	o.report, _ = fs.GetString("report")
	fs.Visit(func(f *pflag.Flag) { o.changed = append(o.changed, f.Name) })
	var err error
	o.settings, err = readSettings(fs)
	return o, err
}

// finalReport makes sure `dswap up` ends with its final report (the JSON
// object under --output json, the GitHub Actions summary) even when it
// stopped before any swap ran.
func finalReport(c *cli, format string, err error) error {
	if err != nil && !errors.Is(err, errReported) && format == "json" {
		// Nothing reported yet: the command failed before its swap
		// could (bad flags, setup, an unreachable sidecar).
		_ = json.NewEncoder(c.stdout).Encode(outcomeOf(nil, err))
	}
	// A no-op when the swap has reported already.
	c.actions.Finish(outcomeOf(nil, err))
	return err
}

func runUp(ctx context.Context, c *cli, opts upOptions) error {
	in, err := readUpInputs(ctx, c, opts)
	if err != nil {
		return err
	}
	log := in.log
	env, err := c.connect(ctx, opts.connect, log)
	if err != nil {
		return err
	}
	defer env.close()
	if env.images != nil {
		build, err := in.target.Build(ctx, env.images, opts.imageGiven, log)
		if err != nil {
			return err
		}
		if build != nil {
			env.images.Build = build
		}
	}

	req := swapRequest(in.request)
	if t := in.target; t.Spec != nil {
		req.Labels = t.Spec.Labels
		req.Healthcheck = t.Healthcheck(log)
		req.DefinitionLabels = func(ctx context.Context, like *engine.Container, _ *engine.Image) (map[string]string, error) {
			return t.HashLabels(ctx, like, log), nil
		}
	}
	rep := c.startReport(ctx, opts.report, env, log)
	res, err := env.swaps.Up(ctx, req)
	rep.Finish(ctx, res)
	notifyEnd(ctx, opts.notify, res, err, log)
	c.actions.Finish(outcomeOf(res, err))
	if in.format == "json" {
		err = reportJSON(c.stdout, res, err)
	} else {
		err = reportText(c.stdout, c.stderr, res, err)
	}
	if lerr := finishLingers(ctx, c, env, res, log); lerr != nil && err == nil {
		return lerr
	}
	return err
}

// upInputs are what a local and a remote `dswap up` read the same way.
type upInputs struct {
	format string
	log    *slog.Logger
	target *compose.Target
	// request is the swap asked for: the image, the service and the
	// settings of flags, DSWAP_* variables and the compose file. It runs
	// here, or goes to the sidecar as it is.
	request settings.Request
}

func readUpInputs(ctx context.Context, c *cli, opts upOptions) (upInputs, error) {
	in := upInputs{format: opts.format}
	log, err := newLogger(in.format, c.stderr, c.now())
	if err != nil {
		return in, err
	}
	in.log = c.actions.Wrap(log)
	if in.target, err = compose.ResolveTarget(ctx, opts.target, in.log); err != nil {
		return in, badInput(err)
	}
	over, err := in.target.Overrides(opts.settings, in.log)
	if err != nil {
		return in, badInput(err)
	}
	service := opts.service
	if in.target.Service != "" {
		service = in.target.Service
	}
	in.request = settings.Request{Image: in.target.Image, Service: service, Overrides: over}
	return in, nil
}

// swapRequest is what package swap runs for a request.
func swapRequest(r settings.Request) swap.Request {
	return swap.Request{Image: r.Image, Service: r.Service, Overrides: r.Overrides, Force: r.Force != nil && *r.Force}
}

func reportText(stdout, stderr io.Writer, res *swap.Result, err error) error {
	var failed *swap.FailedError
	switch {
	case err == nil && res.Paused != "":
		fmt.Fprintf(stdout, "dswap: %s: %s\n", res.Service, res.Paused)
		return nil
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
		printCanaryWarnings(stderr, res)
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
