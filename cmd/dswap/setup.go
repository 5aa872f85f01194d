package main

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/swap"
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

// environment is what every command needs, made once.
type environment struct {
	engine *engine.Engine
	dir    *traefik.Dir
	deps   swap.Deps
	close  func()
}

func setup(ctx context.Context, fs *pflag.FlagSet, log *slog.Logger) (*environment, error) {
	eng, err := engine.New(ctx)
	if err != nil {
		return nil, err
	}
	env := &environment{engine: eng, close: func() { _ = eng.Close() }}
	fail := func(err error) (*environment, error) {
		env.close()
		return nil, err
	}

	address, _ := layeredString(fs, "address")
	if address != "auto" && address != "name" && address != "ip" {
		return fail(usagef("%s %q: want auto, name or ip", source(fs, "address"), address))
	}
	apiAddr, _ := layeredString(fs, "traefik-api")
	routesDir, _ := layeredString(fs, "routes-dir")
	containerName, _ := layeredString(fs, "traefik-container")
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
		confirm = api
		versions = api
	}
	traefikRelease, err := traefikVersion(ctx, fs, versions, log)
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
	images, err := newImages(fs, eng, log)
	if err != nil {
		return fail(err)
	}
	lockWait := defaultLockWait
	if d, err := layeredDuration(fs, "lock-wait"); err != nil {
		return fail(err)
	} else if d != nil {
		lockWait = *d
	}
	env.deps = swap.Deps{
		Docker:     eng,
		Images:     images,
		Routes:     dir,
		Traefik:    confirm,
		Addressing: addressing,
		Log:        log,
		Locks: lock.Dir{Path: dir.StagingPath(), Wait: lockWait, Command: holderCommand(fs), OnWait: func(key string, h lock.Holder) {
			log.Warn("waiting for another dswap to finish with this service", "service", key, "holder", h.String(), "up to", lockWait)
		}},
		History:        history.Store{Dir: dir.StagingPath()},
		TraefikVersion: traefikRelease,
	}
	env.dir = dir
	return env, nil
}

// commandEnv is what the commands other than up start with: the --output
// format, the logger for it, and the environment.
func commandEnv(cmd *cobra.Command, stderr io.Writer) (string, *environment, error) {
	fs := cmd.Flags()
	format, _ := layeredString(fs, "output")
	log, err := newLogger(format, stderr, time.Now())
	if err != nil {
		return "", nil, err
	}
	env, err := setup(cmd.Context(), fs, log)
	if err != nil {
		return "", nil, err
	}
	return format, env, nil
}
