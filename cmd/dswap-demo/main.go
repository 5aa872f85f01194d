// Command dswap-demo runs dswap's main job on this machine: it starts
// Traefik (built from its Go module) and a sample service on the local
// Docker Engine, lets dswap adopt the service, then runs `dswap up` to a new
// version while closed-loop clients on 127.0.0.1 send requests through
// Traefik, and prints what the clients saw.
//
//	go run ./cmd/dswap-demo            (scripts/demo.sh builds Traefik first)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dswap-demo:", err)
		os.Exit(1)
	}
}

type options struct {
	clients int
	delay   time.Duration
	drain   time.Duration
	keep    bool
}

func run(ctx context.Context) error {
	var o options
	flag.IntVar(&o.clients, "clients", 8, "concurrent closed-loop clients")
	flag.DurationVar(&o.delay, "delay", 50*time.Millisecond, "how long the sample service takes per request")
	flag.DurationVar(&o.drain, "drain", 10*time.Second, "drain window for the old container")
	flag.BoolVar(&o.keep, "keep", false, "leave Traefik and the service running afterwards")
	flag.Parse()

	traefikBin := lab.TraefikBinFromEnv()
	if traefikBin == "" {
		return fmt.Errorf("no Traefik binary: run scripts/demo.sh, which builds it, or set %s", lab.TraefikBinEnv)
	}
	tmp, err := os.MkdirTemp("", "dswap-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dswap := filepath.Join(tmp, "dswap")
	step("building dswap")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", dswap, "./cmd/dswap").CombinedOutput(); err != nil {
		return fmt.Errorf("building dswap (run from the repository root): %v\n%s", err, out)
	}

	prefix := "dswap-demo-" + randomHex(2)
	step("starting Traefik on the local Engine")
	l, err := lab.New(ctx, lab.Options{Prefix: prefix, TraefikBin: traefikBin})
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			step("cleaning up (pass -keep to leave everything running)")
			_ = l.Close(closeCtx)
		}()
	}
	fmt.Printf("        Traefik: web %s, API %s, routes %s\n", l.WebURL, l.APIURL, l.RoutesDir)

	step("building the sample service, v1 and v2 (FROM scratch)")
	v1, v2 := prefix+"-app:v1", prefix+"-app:v2"
	for _, img := range []lab.AppImage{{Tag: v1, Version: "v1"}, {Tag: v2, Version: "v2"}} {
		if err := l.BuildApp(ctx, img); err != nil {
			return err
		}
	}
	const service, host = "demo", "demo.localhost"
	step("running " + v1 + " as service " + service)
	id, err := l.RunApp(ctx, lab.App{Name: prefix + "-demo", Image: v1, Labels: map[string]string{
		"traefik.enable":                                      "false",
		"traefik.http.routers.demo.rule":                      "Host(`" + host + "`)",
		"traefik.http.services.demo.loadbalancer.server.port": "8080",
		"dswap.service":                                       service,
		"dswap.drain":                                         o.drain.String(),
	}})
	if err != nil {
		return err
	}
	if err := l.WaitHealthy(ctx, id, time.Minute); err != nil {
		return err
	}
	dswapEnv := append(os.Environ(),
		"DSWAP_ROUTES_DIR="+l.RoutesDir, "DSWAP_TRAEFIK_API="+l.APIURL, "DSWAP_TRAEFIK_CONTAINER="+l.TraefikName)
	step("dswap sync " + service)
	if err := runDswap(ctx, dswap, dswapEnv, "sync", service); err != nil {
		return err
	}

	step(fmt.Sprintf("load: %d closed-loop clients, %s per request, http://%s via %s", o.clients, o.delay, host, l.WebURL))
	ld, err := loadgen.Start(ctx, loadgen.Options{URL: l.WebURL + "/", Host: host, Clients: o.clients,
		MaxDuration: 3 * time.Minute, Query: "delay=" + o.delay.String()})
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ld.WaitVersion(waitCtx, "v1"); err != nil {
		return fmt.Errorf("load never reached v1: %w", err)
	}
	// Steady load before the swap, for the counts. It also lets Traefik's
	// 2 s reload throttle (providersThrottleDuration) pass after the sync's
	// route change, so the flip shows its own speed.
	sleepCtx(ctx, 2500*time.Millisecond)

	step("dswap up " + v2 + " --service " + service)
	swapErr := runDswap(ctx, dswap, dswapEnv, "up", v2, "--service", service)
	sleepCtx(ctx, time.Second) // and a second after it
	rep := ld.Stop()

	step("what the clients saw")
	fmt.Printf("        %s\n", rep.Summary())
	fmt.Printf("        failed: %d   hung: %d   answered by v1 after v2 had answered: %d\n", rep.Failed, rep.Hung, len(rep.MixedAfter("v2")))
	if swapErr != nil {
		return fmt.Errorf("dswap up failed: %w", swapErr)
	}
	if rep.Failed > 0 || rep.Hung > 0 {
		return fmt.Errorf("%d failed and %d hung requests", rep.Failed, rep.Hung)
	}
	if o.keep {
		fmt.Printf("        left running: curl -H 'Host: %s' %s/  (remove with docker rm -f $(docker ps -aq --filter label=dswaplab=%s))\n", host, l.WebURL, prefix)
	}
	return nil
}

func runDswap(ctx context.Context, bin string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	return cmd.Run()
}

// sleepCtx waits d for the demo's before/after windows of steady load; it
// is the one wait here that no event answers, bounded by ctx.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func step(s string) { fmt.Printf("==> %s\n", s) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
