// Package e2e proves dswap's behaviour against a real Docker Engine and a
// real Traefik (built from its Go module), with load from 127.0.0.1.
//
// Under CI=true a missing Engine or Traefik binary fails the run; elsewhere
// the tests skip, so `go test ./...` works on a laptop without Docker.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// suite is what every test shares: one lab (one Traefik) and the images.
var suite struct {
	lab    *lab.Lab
	dswap  string // path of the dswap binary under test
	images map[string]string
	// skip is set when the environment has no Engine or Traefik and the
	// run is not CI; tests then skip with this reason.
	skip string
}

// Image names, by role.
const (
	imgV1           = "v1"
	imgV2           = "v2"
	imgV3           = "v3"
	imgNeverHealthy = "v2-never-healthy"
	imgExitAtStart  = "v2-exit-at-start"
	imgNoHealth     = "v2-no-healthcheck"
	imgSlowReady    = "v2-slow-ready"
	imgGoesBad      = "v2-goes-bad"
	imgFailing      = "v2-fails-20pct"
	imgSlow         = "v2-slow-300ms"
	imgShell        = "v2-shell"
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ci := os.Getenv("CI") == "true"
	unavailable := func(reason string) int {
		if ci {
			fmt.Fprintf(os.Stderr, "e2e: %s; under CI=true the end-to-end tests must run, so this is a failure\n", reason)
			return 1
		}
		suite.skip = reason
		return m.Run()
	}
	if err := pingDocker(ctx); err != nil {
		return unavailable("no Docker Engine: " + err.Error())
	}
	traefikBin := lab.TraefikBinFromEnv()
	if traefikBin == "" {
		return unavailable("no Traefik binary: run scripts/tools.sh and set " + lab.TraefikBinEnv)
	}

	tmp, err := os.MkdirTemp("", "dswap-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	suite.dswap = filepath.Join(tmp, "dswap")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", suite.dswap, "../cmd/dswap").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building dswap: %v\n%s", err, out)
		return 1
	}

	prefix := "dswap-e2e-" + randomHex(3)
	l, err := lab.New(ctx, lab.Options{Prefix: prefix, TraefikBin: traefikBin, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the lab:", err)
		return 1
	}
	suite.lab = l
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Close(closeCtx); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: closing the lab:", err)
		}
	}()
	// Deferred last so that it runs first: the Traefik v2.11 lab's
	// containers use the images the main lab removes.
	defer closeTraefik2Lab()
	if err := buildImages(ctx, prefix); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building images:", err)
		return 1
	}
	return m.Run()
}

func buildImages(ctx context.Context, prefix string) error {
	suite.images = map[string]string{}
	specs := []lab.AppImage{
		{Tag: imgV1, Version: "v1"},
		{Tag: imgV2, Version: "v2"},
		{Tag: imgV3, Version: "v3"},
		{Tag: imgNeverHealthy, Version: "v2", Env: map[string]string{"NEVER_HEALTHY": "1"}, HealthRetries: 2},
		{Tag: imgExitAtStart, Version: "v2", Env: map[string]string{"EXIT_AT_START": "1"}},
		{Tag: imgNoHealth, Version: "v2", NoHealthcheck: true},
		{Tag: imgSlowReady, Version: "v2", Env: map[string]string{"READY_AFTER": "4s"}, HealthStartPeriod: 20 * time.Second},
		// Healthy, then its health check fails 2 s later while it still
		// answers, then it crashes 2 s after that: an app going bad.
		{Tag: imgGoesBad, Version: "v2", Env: map[string]string{"FAIL_AFTER": "2s", "CRASH_AFTER": "4s"}},
		// Healthy, and 500 on every fifth request: what only a canary catches.
		{Tag: imgFailing, Version: "v2", Env: map[string]string{"FAIL_RATE": "0.2"}},
		// Healthy, and 300 ms late on every request but /healthz: what only a
		// latency limit catches (Traefik's buckets are 0.1, 0.3, 1.2, 5 s).
		{Tag: imgSlow, Version: "v2", Env: map[string]string{"EXTRA_LATENCY": "300ms"}},
		// testapp as /bin/sh too, no entrypoint: release tasks in the
		// shell form.
		{Tag: imgShell, Version: "v2", Shell: true},
	}
	for _, s := range specs {
		role := s.Tag
		s.Tag = prefix + "-app:" + role
		if err := suite.lab.BuildApp(ctx, s); err != nil {
			return err
		}
		suite.images[role] = s.Tag
	}
	return nil
}

func pingDocker(ctx context.Context) error {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = c.Ping(pctx)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// needSuite skips a test when the suite could not start outside CI.
func needSuite(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}

// image returns the tag of an image role.
func image(role string) string {
	if tag, ok := suite.images[role]; ok {
		return tag
	}
	panic("unknown image role " + role + "; known: " + strings.Join(keys(suite.images), ", "))
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// unavailable skips a test whose tools are missing, except under CI=true,
// where every end-to-end test must run: scripts/packages.sh installs what
// the tests need, so a missing tool there is a failure.
func unavailable(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; under CI=true this test must run (scripts/packages.sh installs what it needs)")
	}
	t.Skip(msg)
}
