package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// keeperLockName is the file in the routes directory's state directory that
// a running route keeper holds locked (flock), by `dswap keep` or a
// sidecar's keeper. The kernel drops the lock when the keeper exits for any
// reason, so "the file is locked" means "a keeper runs" without heartbeats
// to go stale. Service locks end in ".lock", so no service can take it.
const keeperLockName = "route-keeper.flock"

func newKeepCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keep",
		Short: "Keep routes right after Docker events, without an API: the route keeper alone, for a host service (systemd)",
		Long: `Run dswap's route keeper alone, as a long-lived process on the host, for a
Traefik that runs on the host too (a systemd service reaching containers by IP).

A route that names a container's IP is wrong as soon as the container restarts
(docker restart, a crash under a restart policy, a restart of the Docker
Engine): it comes back with another address. The keeper follows container
start, die, destroy and health_status events and rewrites the route of a
dswap-managed service when what it should name changed, once the container is
healthy again. It keeps the services routed through this routes directory (by
a first dswap sync or dswap up): a Traefik on the host reaches every container,
so only the route file tells its services from another Traefik's. It writes only when the content changes, never while a swap
holds the service's lock, and looks at every service at start and every
--resync.

It serves no API (see dswap serve for that, whose keeper is the same). One
keeper per routes directory is enough: a second one refuses to start. dswap
status warns when routes name IPs and no keeper runs.

See contrib/systemd/dswap-keep.service for a unit file.`,
		Example: `  dswap keep --routes-dir /etc/traefik/dynamic --traefik-api http://127.0.0.1:8080
  DSWAP_ROUTES_DIR=/etc/traefik/dynamic DSWAP_TRAEFIK_API=http://127.0.0.1:8080 dswap keep`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usagef("dswap keep takes no arguments, got %d", len(args))
			}
			return runKeep(cmd, c)
		},
	}
	fs := cmd.Flags()
	keeperFlags(fs, "how long to wait for Traefik and the Engine to answer at start (at boot they may come up after dswap)")
	connectionFlags(fs)
	return cmd
}

// keepConfig is what keep reads from its flags before touching anything.
type keepConfig struct {
	keeperOptions
	format string
}

func readKeepConfig(fs *pflag.FlagSet) (*keepConfig, error) {
	opts, err := readKeeperOptions(fs)
	if err != nil {
		return nil, err
	}
	c := &keepConfig{keeperOptions: opts}
	c.format, _ = layeredString(fs, "output")
	return c, nil
}

func runKeep(cmd *cobra.Command, c *cli) error {
	ctx := cmd.Context()
	fs := cmd.Flags()
	cfg, err := readKeepConfig(fs)
	if err != nil {
		return err
	}
	log, err := serveLogger(cfg.format, cfg.level, c.stderr)
	if err != nil {
		return err
	}
	conn, err := readConnectOptions(fs)
	if err != nil {
		return err
	}
	env, err := setupWithin(ctx, c, conn, log, cfg.startup)
	if err != nil {
		return err
	}
	defer env.close()
	held, err := holdKeeperLock(ctx, env.dir, "dswap keep")
	if err != nil {
		return err
	}
	defer held.Release()
	backend := &server.SwapBackend{
		Deps:        env.deps,
		KeeperLocks: lock.Dir{Path: env.dir.StagingPath(), Command: "dswap keep (route keeper)"},
	}
	scoped := routedHere{Upkeeper: backend, docker: env.deps.Docker, hasRoute: func(key string) bool {
		_, ok, err := env.dir.Read(key)
		return err == nil && ok
	}}
	keeper := &server.Keeper{Upkeeper: scoped, Log: log, Quiet: cfg.debounce, Resync: cfg.resync}
	if env.swarm != nil {
		backend.Swarm = &env.swarm.deps
		keeper.Swarm = backend
	}
	log.Info("dswap keep: keeping routes right after Docker events", "routes", env.dir.Path, "traefik api", traefikAPIOf(env),
		"debounce", cfg.debounce, "resync", cfg.resync, "version", version)
	go keepLingers(ctx, env, log)
	err = keeper.Run(ctx)
	log.Info("dswap keep stopped")
	return err
}

// holdKeeperLock takes the routes directory's keeper lock, which says to
// dswap status that a keeper runs. Another keeper holding it is an error
// naming it: two keepers of one directory only double the work.
func holdKeeperLock(ctx context.Context, dir *traefik.Dir, command string) (*lock.Lock, error) {
	l, err := lock.Acquire(ctx, filepath.Join(dir.StagingPath(), keeperLockName), lock.Self(command), 0, nil)
	var held *lock.HeldError
	if errors.As(err, &held) {
		return nil, badInput(fmt.Errorf("another route keeper already keeps %s: %s; one is enough (stop it first, or leave this one out)", dir.Path, held.Holder))
	}
	if err != nil {
		return nil, fmt.Errorf("taking the route keeper's lock in %s: %w", dir.StagingPath(), err)
	}
	return l, nil
}

// runningKeeper says who keeps the routes of dir, if any keeper runs: the
// holder of the keeper lock. ok is false when none does.
func runningKeeper(ctx context.Context, dir *traefik.Dir) (holder lock.Holder, ok bool, err error) {
	path := filepath.Join(dir.StagingPath(), keeperLockName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return lock.Holder{}, false, nil // never ran here; do not create the state directory to find out
	}
	l, err := lock.Acquire(ctx, path, lock.Self("dswap status (looking for a route keeper)"), 0, nil)
	var held *lock.HeldError
	if errors.As(err, &held) {
		return held.Holder, true, nil
	}
	if err != nil {
		return lock.Holder{}, false, err
	}
	l.Release()
	return lock.Holder{}, false, nil
}

// routedByIP lists the services whose routes name a container by IP.
func routedByIP(statuses []swap.Status) []string {
	var out []string
	for _, st := range statuses {
		for _, host := range st.Routed {
			if net.ParseIP(host) != nil {
				out = append(out, st.Service)
				break
			}
		}
	}
	return out
}

// warnNoKeeper tells on stderr when routes name IPs and no keeper runs:
// the next restart of such a container leaves its route on an address it
// no longer has, so the service answers 502 until someone syncs.
func warnNoKeeper(ctx context.Context, dir *traefik.Dir, statuses []swap.Status, stderr io.Writer) {
	byIP := routedByIP(statuses)
	if len(byIP) == 0 || dir == nil {
		return
	}
	_, running, err := runningKeeper(ctx, dir)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "dswap: warning: could not tell whether a route keeper runs (%v); routes of %s name container IPs\n", err, strings.Join(byIP, ", "))
	case !running:
		fmt.Fprintf(stderr, "dswap: warning: routes of %s name container IPs and no route keeper runs for %s: after a restart of such a container (or of the Docker Engine) it gets another IP and the service answers 502 until `dswap sync`. Run `dswap keep` (e.g. contrib/systemd/dswap-keep.service) or `dswap serve`\n",
			strings.Join(byIP, ", "), dir.Path)
	}
}
