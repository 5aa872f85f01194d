package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
	swarmswap "github.com/dswap-dev/dswap/swap/swarm"
	"github.com/dswap-dev/dswap/traefik"
)

// unconfirmedWait is what dswap waits without a Traefik API: the file
// provider's default reload throttle (2 s) plus a margin.
const unconfirmedWait = 2500 * time.Millisecond

// connectionFlags are how dswap finds the Engine's Traefik.
func connectionFlags(fs *pflag.FlagSet) {
	addFlags(fs, settings.GroupConnection)
}

// defaultLockWait bounds the wait for another swap of the same service: long
// enough for a swap with a 30 s drain and a slow health check.
const defaultLockWait = 2 * time.Minute

// holderCommand is what a lock records about this dswap: the command and
// its arguments (the image), never its flags, whose values can be
// secrets (--registry-auth u:pass, --build-arg TOKEN=...). Another dswap
// prints the record while it waits, and a sidecar logs it.
func holderCommand(fs *pflag.FlagSet) string {
	return strings.Join(append([]string{"dswap", fs.Name()}, fs.Args()...), " ")
}

// connectOptions are how a command finds Docker, Traefik and the routes
// directory, and what its image getter and lock take: read once from the
// flags and DSWAP_* variables, then passed to connect.
type connectOptions struct {
	address          given // auto, name or ip
	traefikAPI       string
	traefikMetrics   string
	routesDir        string
	traefikContainer string
	traefikVersion   given
	lockWait         time.Duration
	holder           string // what the lock records about this dswap
	images           imageOptions
}

// readConnectOptions reads the connection flags a command has, and their
// variables.
func readConnectOptions(fs *pflag.FlagSet) (connectOptions, error) {
	o := connectOptions{
		address:        givenValue(fs, "address"),
		traefikVersion: givenValue(fs, "traefik-version"),
		lockWait:       defaultLockWait,
		holder:         holderCommand(fs),
	}
	o.traefikAPI, _ = layeredString(fs, "traefik-api")
	o.traefikMetrics, _ = layeredString(fs, "traefik-metrics")
	o.routesDir, _ = layeredString(fs, "routes-dir")
	o.traefikContainer, _ = layeredString(fs, "traefik-container")
	if d, err := layeredDuration(fs, "lock-wait"); err != nil {
		return o, err
	} else if d != nil {
		o.lockWait = *d
	}
	var err error
	o.images, err = readImageOptions(fs)
	return o, err
}

// environment is what every command needs, made once by connect.
type environment struct {
	swaps swapper
	deps  swap.Deps
	// images is the one image getter (deps.Images); a compose service's
	// build section sets its Build.
	images *engine.Images
	// swarm sends commands about a Swarm service to swap/swarm; nil in
	// the commands' tests.
	swarm *swarmAware
	api   *traefik.API // nil without a Traefik API
	dir   *traefik.Dir
	close func()
}

// setup connects to the Engine and Traefik: the one place dswap constructs
// them and the swap.
func setup(ctx context.Context, opts connectOptions, log *slog.Logger) (*environment, error) {
	eng, err := engine.New(ctx)
	if err != nil {
		return nil, err
	}
	env := &environment{close: func() { _ = eng.Close() }}
	fail := func(err error) (*environment, error) {
		env.close()
		return nil, err
	}

	address := opts.address.text
	if address != "auto" && address != "name" && address != "ip" {
		return fail(usagef("%s %q: want auto, name or ip", opts.address.source, address))
	}
	apiAddr, routesDir, containerName := opts.traefikAPI, opts.routesDir, opts.traefikContainer
	givenRoutesDir, givenAPI := routesDir, apiAddr

	// What was given wins. With the routes directory and the API both
	// given (and no container named), dswap looks for no Traefik at all:
	// containers that look like one cannot make it refuse. Without
	// Traefik's container its networks are unknown, so containers are
	// addressed by IP, as for a Traefik on the host.
	var inst *traefik.Instance
	if containerName != "" || routesDir == "" || apiAddr == "" {
		inst, err = traefik.Discover(ctx, eng, traefik.Query{Container: containerName, RoutesDir: routesDir, APIURL: apiAddr})
		if err != nil {
			return fail(badInput(err))
		}
	}
	if inst != nil {
		log.Debug("found Traefik", "container", inst.Container.Name, "file directory", inst.HostDir, "api", inst.APIURL)
	}

	if routesDir == "" && inst != nil {
		routesDir = inst.HostDir
	}
	dir, err := traefik.OpenDir(routesDir)
	if err != nil {
		return fail(badInput(err))
	}

	var confirm swap.Traefik
	var versions versionReader
	switch {
	case apiAddr == "none":
		log.Warn("no Traefik API: route changes are not confirmed; dswap waits Traefik's reload throttle instead", "wait", unconfirmedWait)
		confirm = &traefik.Unconfirmed{Wait: unconfirmedWait}
	default:
		if apiAddr == "" && inst != nil {
			apiAddr = inst.APIURL
		}
		if apiAddr == "" {
			return fail(usagef("no Traefik API to confirm route changes: pass --traefik-api http://HOST:PORT (DSWAP_TRAEFIK_API), enable api.insecure on Traefik, or pass --traefik-api none to wait Traefik's reload throttle instead"))
		}
		api, err := traefik.NewAPI(apiAddr)
		if err != nil {
			return fail(badInput(err))
		}
		if err := api.Ping(ctx); err != nil {
			return fail(badInput(err))
		}
		confirm, versions, env.api = api, api, api
	}
	traefikRelease, err := traefikVersion(ctx, opts.traefikVersion, versions, log)
	if err != nil {
		return fail(err)
	}

	addressing := swap.Addressing{Mode: address}
	if inst != nil {
		for n := range inst.Container.Networks {
			addressing.TraefikNetworks = append(addressing.TraefikNetworks, n)
		}
		sort.Strings(addressing.TraefikNetworks)
	}
	choice := chooseTraefik(inst, containerName != "", givenRoutesDir, givenAPI, addressing)
	log.Info("using Traefik", "container", dash(choice.Container), "routes", dir.Path, "api", apiAddr, "why", choice.Traefik, "addressing", choice.Addressing)
	env.images = newImages(opts.images, eng, log)
	lockWait := opts.lockWait
	env.deps = swap.Deps{
		Docker:     eng,
		Tasks:      eng,
		Images:     env.images,
		Routes:     dir,
		Traefik:    confirm,
		Addressing: addressing,
		Log:        log,
		Locks: lock.Dir{Path: dir.StagingPath(), Wait: lockWait, Command: opts.holder, OnWait: func(key string, h lock.Holder) {
			log.Warn("waiting for another dswap to finish with this service", "service", key, "holder", h.String(), "up to", lockWait)
		}},
		History:        history.Store{Dir: dir.StagingPath()},
		TraefikVersion: traefikRelease,
		Lingers:        swap.LingerDir{Path: filepath.Join(dir.StagingPath(), "lingering")},
		Conns:          engine.Connections{ProcRoot: os.Getenv("DSWAP_HOST_PROC")},
	}
	metricsURL, err := traefikMetricsURL(opts.traefikMetrics, inst, env.api)
	if err != nil {
		return fail(err)
	}
	if metricsURL != "" {
		env.deps.Metrics = traefik.NewMetricsReader(metricsURL)
		log.Debug("reading Traefik's metrics", "url", metricsURL)
	}
	env.deps.LiveWindow = canaryLiveWindow
	env.swarm = &swarmAware{swapper: swap.New(env.deps), cluster: eng, log: log, deps: swarmswap.Deps{
		Cluster: eng, Images: env.images, Routes: dir, Traefik: confirm, History: env.deps.History, Metrics: env.deps.Metrics,
		TraefikNetworks: traefikNetworkIDs(inst), TraefikVersion: traefikRelease, Log: log,
		Holder: swarmswap.Holder(opts.holder), LockWait: lockWait,
	}}
	env.swaps = env.swarm
	env.dir = dir
	return env, nil
}

// traefikNetworkIDs maps the IDs of the Traefik container's networks to
// their names; empty when the container is not known.
func traefikNetworkIDs(inst *traefik.Instance) map[string]string {
	out := map[string]string{}
	if inst == nil {
		return out
	}
	for name, ep := range inst.Container.Networks {
		out[ep.NetworkID] = name
	}
	return out
}

// connectEnv is what the commands other than up start with: the logger for
// the --output format, and the environment.
func connectEnv(ctx context.Context, c *cli, format string, opts connectOptions) (*slog.Logger, *environment, error) {
	log, err := newLogger(format, c.stderr, c.now())
	if err != nil {
		return nil, nil, err
	}
	env, err := c.connect(ctx, opts, log)
	if err != nil {
		return nil, nil, err
	}
	return log, env, nil
}
