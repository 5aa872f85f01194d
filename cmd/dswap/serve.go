package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

func newServeCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run as a sidecar: an HTTP API and webhooks to swap, and keep routes right after Docker events",
		Long: `Run dswap as a long-lived sidecar next to Traefik, usually a compose service with
the Docker socket and Traefik's routes directory mounted.

It keeps the route of every dswap-managed service right: at start (adopting what
"docker compose up" started), and after container start, die, destroy and
health_status events (restarts, containers added or gone, a swap interrupted by
a crash). It writes a route only when its content changes, and never while a
swap holds the service's lock.

It serves an API (bearer token required) to swap, roll back and inspect
services and to follow a swap's progress, webhooks for registry pushes and
GitHub, and can poll a tag for a new image.

In a container, pass --routes-dir with the path where the routes directory is
mounted in dswap's own container (e.g. /routes) and --traefik-api with
Traefik's address on the compose network (e.g. http://traefik:8080): what dswap
could find from Traefik's container are paths and ports of the host.`,
		Example: `  dswap serve --listen 0.0.0.0:7070 --routes-dir /routes --traefik-api http://traefik:8080
  dswap serve --listen unix:///run/dswap/dswap.sock
  dswap serve --hook 'service=web,image=registry.example.com/acme/app,tags=v*' --github-secret-file /run/secrets/github
  dswap serve --poll 'service=web,image=registry.example.com/acme/app:latest,every=1m'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usagef("dswap serve takes no arguments, got %d", len(args))
			}
			return runServe(cmd, c)
		},
	}
	fs := cmd.Flags()
	fs.String("listen", "127.0.0.1:7070", "where the API listens: HOST:PORT, or unix:///PATH for a Unix socket")
	fs.String("token-file", "", "file holding the API's bearer token (or set DSWAP_TOKEN); required on a TCP address")
	fs.String("github-secret-file", "", "file holding the GitHub webhook secret (or set DSWAP_GITHUB_SECRET); turns on POST /v1/hooks/github")
	fs.String("registry-token-file", "", "file holding the token registry notifications must present (or set DSWAP_REGISTRY_TOKEN; default: the API token, then only in the Authorization header, never as ?token=)")
	fs.StringArray("hook", nil, "map pushed images or GitHub workflow runs to a service: 'service=web,image=REPO,tags=GLOB' (repeatable; DSWAP_HOOK takes several separated by ;)")
	fs.StringArray("poll", nil, "swap a service when a tag's image changes in its registry: 'service=web,image=REPO:TAG,every=1m' (repeatable; DSWAP_POLL takes several separated by ;)")
	fs.String("pull", "missing", "pull policy of an API swap that names none: missing, always or never")
	fs.Bool("watch", true, "keep routes right after Docker events; --watch=false serves the API only")
	keeperFlags(fs, "how long to wait for Traefik and the Engine to answer at start")
	fs.String("registry-auth", "", "registry login USER:PASSWORD for pulls (prefer --registry-auth-file or DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD)")
	fs.String("registry-auth-file", "", "file holding the registry login as USER:PASSWORD, for pulls")
	observeFlags(fs)
	connectionFlags(fs)
	return cmd
}

// serveConfig is what serve reads from its flags before touching anything.
type serveConfig struct {
	listen        server.Address
	token         string
	githubSecret  string
	registryToken string
	hooks         []server.Hook
	polls         []server.Poll
	pull          engine.PullPolicy
	watch         bool
	keeperOptions
	observe observeConfig
}

func readServeConfig(fs *pflag.FlagSet, getenv func(string) string) (*serveConfig, error) {
	c := &serveConfig{}
	listen, _ := layeredString(fs, "listen")
	var err error
	if c.listen, err = server.ParseAddress(listen); err != nil {
		return nil, usagef("%s %v", source(fs, "listen"), err)
	}
	if c.token, err = secret(fs, "token-file", "DSWAP_TOKEN", getenv); err != nil {
		return nil, err
	}
	if c.token == "" && c.listen.Network == "tcp" {
		return nil, usagef("refusing to serve the API on %s without a token: anyone who reaches the port could swap your services. Pass --token-file FILE or set DSWAP_TOKEN (or listen on a Unix socket, unix:///PATH, whose file permissions guard it)", c.listen)
	}
	if c.githubSecret, err = secret(fs, "github-secret-file", "DSWAP_GITHUB_SECRET", getenv); err != nil {
		return nil, err
	}
	if c.registryToken, err = secret(fs, "registry-token-file", "DSWAP_REGISTRY_TOKEN", getenv); err != nil {
		return nil, err
	}
	for _, h := range listValues(fs, "hook", getenv) {
		hook, err := server.ParseHook(h)
		if err != nil {
			return nil, usagef("%v", err)
		}
		c.hooks = append(c.hooks, hook)
	}
	if len(c.hooks) > 0 && c.registryToken == "" && c.token == "" && c.githubSecret == "" {
		return nil, usagef("--hook needs a way to authenticate webhooks: a token for registry notifications (DSWAP_TOKEN or --registry-token-file) or a GitHub webhook secret (--github-secret-file)")
	}
	for _, p := range listValues(fs, "poll", getenv) {
		poll, err := server.ParsePoll(p)
		if err != nil {
			return nil, usagef("%v", err)
		}
		c.polls = append(c.polls, poll)
	}
	pull, _ := layeredString(fs, "pull")
	if c.pull, err = engine.ParsePullPolicy(pull); err != nil {
		return nil, usagef("%v", err)
	}
	watch, err := layeredBool(fs, "watch")
	if err != nil {
		return nil, err
	}
	c.watch = watch == nil || *watch
	if c.keeperOptions, err = readKeeperOptions(fs); err != nil {
		return nil, err
	}
	if c.observe, err = readObserveConfig(fs, getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// secret reads a secret from --NAME-file, then DSWAP_NAME_FILE, then the
// variable env. A file that is empty is an error, not "no secret".
func secret(fs *pflag.FlagSet, fileFlag, env string, getenv func(string) string) (string, error) {
	if path, set := layeredString(fs, fileFlag); set && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usagef("%s: %v", source(fs, fileFlag), err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", usagef("%s %s is empty", source(fs, fileFlag), path)
		}
		return s, nil
	}
	return strings.TrimSpace(getenv(env)), nil
}

// listValues returns a repeatable flag, or its variable split at ";".
func listValues(fs *pflag.FlagSet, name string, getenv func(string) string) []string {
	if fs.Changed(name) {
		v, _ := fs.GetStringArray(name)
		return v
	}
	var out []string
	for _, s := range strings.Split(getenv(envName(name)), ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func runServe(cmd *cobra.Command, c *cli) error {
	ctx := cmd.Context()
	fs := cmd.Flags()
	cfg, err := readServeConfig(fs, c.getenv)
	if err != nil {
		return err
	}
	format, _ := layeredString(fs, "output")
	log, err := serveLogger(format, cfg.level, c.stderr)
	if err != nil {
		return err
	}
	conn, err := readConnectOptions(fs)
	if err != nil {
		return err
	}
	if err := sidecarDefaults(ctx, &conn, log); err != nil {
		return err
	}
	env, err := setupWithin(ctx, c, conn, log, cfg.startup)
	if err != nil {
		return err
	}
	defer env.close()
	if cfg.watch && len(env.deps.Addressing.TraefikNetworks) == 0 {
		log.Warn("Traefik's container was not found, so its networks are unknown: the route keeper looks after every dswap-managed service on this Engine. If another Traefik (and dswap) routes some of them, pass --traefik-container NAME")
	}

	base := env.images
	backend := &server.SwapBackend{
		Deps: env.deps,
		ImagesFor: func(policy engine.PullPolicy, log *slog.Logger) swap.Images {
			im := *base
			im.Policy, im.Log, im.Terminal, im.Build = policy, log, false, nil
			return &im
		},
		KeeperLocks: lock.Dir{Path: env.dir.StagingPath(), Command: "dswap serve (route keeper)"},
	}
	if env.swarm != nil {
		backend.Swarm = &env.swarm.deps
	}
	var srv *server.Server
	metrics, notifier, obs, err := observers(ctx, cfg.observe, func() int { return srv.Running() }, log)
	if err != nil {
		return err
	}
	metrics.WatchCanaries(canaryWeights(env.dir))
	srv, err = server.New(ctx, server.Options{
		Backend: backend, Token: cfg.token, RegistryToken: cfg.registryToken, GitHubSecret: cfg.githubSecret,
		Hooks: cfg.hooks, DefaultPull: cfg.pull, Log: log, StateDir: env.dir.StagingPath(),
		AllowWithoutToken: cfg.listen.Network == "unix" && cfg.token == "",
		Observers:         obs, Metrics: metrics,
	})
	if err != nil {
		return err
	}
	if cfg.observe.metricsListen != nil {
		if err := serveMetrics(ctx, *cfg.observe.metricsListen, metrics, log); err != nil {
			return err
		}
	}
	l, err := server.Listen(cfg.listen)
	if err != nil {
		return badInput(fmt.Errorf("listening on %s: %w", cfg.listen, err))
	}

	if cfg.watch {
		// The keeper lock tells dswap status that routes are kept; a
		// sidecar whose directory another keeper holds still keeps them.
		if held, err := holdKeeperLock(ctx, env.dir, "dswap serve (route keeper)"); err != nil {
			log.Warn("another route keeper runs on this routes directory; this one keeps routes too", "error", err)
		} else {
			defer held.Release()
		}
		keeper := &server.Keeper{Upkeeper: backend, Log: log, Quiet: cfg.debounce, Resync: cfg.resync, Observer: server.Observers(obs)}
		if backend.Swarm != nil {
			keeper.Swarm = backend
		}
		go func() { _ = keeper.Run(ctx) }()
		go keepLingers(ctx, env, log)
	}
	for _, p := range cfg.polls {
		poller := &server.Poller{Poll: p, Puller: backend, Swaps: srv, Log: log}
		go poller.Run(ctx)
	}
	if len(cfg.hooks) > 0 && cfg.token != "" && (cfg.registryToken == "" || cfg.registryToken == cfg.token) {
		log.Warn("registry notifications share the API token, so whoever configures the registry can call the whole API; ?token= is refused for that reason. Give them their own with --registry-token-file (or DSWAP_REGISTRY_TOKEN)")
	}
	var hooks []string
	for _, h := range cfg.hooks {
		hooks = append(hooks, h.String())
	}
	log.Info("dswap serve listening", "address", cfg.listen.String(), "routes", env.dir.Path, "traefik api", traefikAPIOf(env),
		"watching", cfg.watch, "hooks", strings.Join(hooks, "; "), "github webhook", cfg.githubSecret != "", "polls", len(cfg.polls), "notify", strings.Join(notifier.Targets(), " "), "version", version)

	// When dswap is told to stop, swaps in flight are interrupted (before
	// their flip they roll back, after it they finish the drain); the API
	// keeps answering until they have ended, so that a client following
	// one gets its outcome.
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		<-ctx.Done()
		if n := srv.Running(); n > 0 {
			log.Info("stopping: waiting for the swaps in flight to roll back or finish", "swaps", n)
		}
		wctx, cancel := context.WithTimeout(httpCtx, stopWait)
		defer cancel()
		if err := srv.Wait(wctx); err != nil {
			log.Warn("stopping with swaps still running; the next start puts their services right", "error", err)
		}
		if err := notifier.Wait(wctx); err != nil {
			log.Warn("stopping before every notification was sent", "error", err)
		}
		stopHTTP()
	}()
	if err := server.Serve(httpCtx, l, srv.Handler()); err != nil {
		return fmt.Errorf("serving the API on %s: %w", cfg.listen, err)
	}
	log.Info("dswap serve stopped")
	return nil
}

// stopWait bounds how long a stopping sidecar waits for its swaps: a
// rollback takes seconds, a drain at most its window. Give the container
// a stop_grace_period above it.
const stopWait = 2 * time.Minute

func serveLogger(format string, level slog.Level, w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--output %q: want text or json", format)
}

func traefikAPIOf(env *environment) string {
	if env.api != nil {
		return env.api.String()
	}
	return "none"
}

// setupWithin retries setup until Traefik and the Engine answer: in a
// compose project the sidecar may start before Traefik listens.
func setupWithin(ctx context.Context, c *cli, opts connectOptions, log *slog.Logger, limit time.Duration) (*environment, error) {
	deadline := time.Now().Add(limit)
	for {
		env, err := c.connect(ctx, opts, log)
		if err == nil {
			return env, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		log.Warn("not ready to serve yet; trying again", "error", err, "for up to", time.Until(deadline).Round(time.Second))
		t := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// inContainer says whether dswap runs in a Docker container.
func inContainer() bool {
	_, err := os.Stat("/.dockerenv")
	return err == nil
}

// sidecarDefaults fills in what a sidecar can know about itself: in a
// container the routes directory must be given as mounted here (Traefik's
// mount names a host path), and Traefik is looked for in dswap's own
// compose project, so that other Traefiks on the Engine do not count.
func sidecarDefaults(ctx context.Context, opts *connectOptions, log *slog.Logger) error {
	if !inContainer() {
		return nil
	}
	if opts.routesDir == "" {
		return usagef("dswap serve runs in a container: pass --routes-dir (or DSWAP_ROUTES_DIR) with the path where Traefik's routes directory is mounted in dswap's container, e.g. /routes; the path dswap could find through Traefik's mount is the host's")
	}
	if opts.traefikContainer != "" {
		return nil
	}
	eng, err := engine.New(ctx)
	if err != nil {
		return nil // setup says what is wrong with the Engine
	}
	defer eng.Close()
	host, err := os.Hostname()
	if err != nil {
		return nil
	}
	// Docker names a container's host after its ID.
	name := traefik.InProject(ctx, eng, host)
	if name == "" {
		return nil
	}
	log.Info("found Traefik in dswap's compose project", "container", name)
	opts.traefikContainer = name
	return nil
}
