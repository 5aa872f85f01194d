package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/dswap-dev/dswap/ghactions"
	"github.com/dswap-dev/dswap/report"
	"github.com/dswap-dev/dswap/swap"
)

// cli is what a command runs with, as docker/cli's DockerCli: its output
// streams, the process environment, the clock, the GitHub Actions report
// and how it connects to Docker and Traefik. main makes the real one;
// unit tests give a connect that returns fakes, so a command runs without
// a daemon.
type cli struct {
	stdout, stderr io.Writer
	// plugin is true when dswap runs as the docker CLI plugin (docker swap).
	plugin    bool
	getenv    func(string) string
	lookupEnv func(string) (string, bool)
	now       func() time.Time
	// actions is the GitHub Actions report of `dswap up` (nil outside
	// Actions and for the other commands).
	actions *ghactions.Report
	// connect makes the environment a command runs in from its connection
	// options; setup is the real one, the only place that constructs the
	// Engine client, the route directory, Traefik's API and the swap.
	connect func(ctx context.Context, opts connectOptions, log *slog.Logger) (*environment, error)
	// startReport starts the --report timeline of a swap.
	startReport func(ctx context.Context, path string, env *environment, log *slog.Logger) *report.Report
}

func newCLI(stdout, stderr io.Writer) *cli {
	return &cli{
		stdout: stdout, stderr: stderr,
		getenv: os.Getenv, lookupEnv: os.LookupEnv, now: time.Now,
		connect: setup,
		startReport: func(ctx context.Context, path string, env *environment, log *slog.Logger) *report.Report {
			metricsURL := ""
			if m, ok := env.deps.Metrics.(interface{ URL() string }); ok {
				metricsURL = m.URL() // --traefik-metrics, or where Traefik serves them
			}
			return report.Start(ctx, path, env.api, metricsURL, log)
		},
	}
}

// swapper is what the commands ask of package swap: *swap.Swapper in dswap,
// a fake in the commands' tests.
type swapper interface {
	Up(ctx context.Context, req swap.Request) (*swap.Result, error)
	Sync(ctx context.Context, service string, over swap.Overrides) ([]swap.Synced, error)
	Rollback(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error)
	Promote(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error)
	Abort(ctx context.Context, service string, over swap.Overrides) (*swap.Result, error)
	StatusOf(ctx context.Context, service string) ([]swap.Status, error)
}
