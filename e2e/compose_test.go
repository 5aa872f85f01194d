package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// composeVersions are the two Composes a user may run: the docker CLI
// plugin (v2, built by scripts/tools.sh from its pinned module) and
// docker-compose 1.29.
var composeVersions = []string{"v2", "v1"}

// composeProject is a compose project on the lab's network, routed by the
// lab's Traefik: one service "web" of three replicas of the test app.
type composeProject struct {
	version string // "v2" or "v1"
	name    string // project name, from .env
	dir     string // project directory: compose.yaml and .env
	file    string
	svc     *service // the Traefik router/service name and Host
}

// composeFile is the project's compose.yaml. The image is written in the
// file (an update edits it); the rest comes from .env, as compose reads it.
const composeFile = `services:
  web:
    image: %s
    networks: [lab]
    volumes:
      - ${SLOTS_DIR}:/slots
    labels:
      dswaplab: ${LAB_PREFIX}
      traefik.enable: "false"
      traefik.http.routers.%[2]s.rule: Host(` + "`%[3]s`" + `)
      traefik.http.routers.%[2]s.entrypoints: web
      traefik.http.services.%[2]s.loadbalancer.server.port: "8080"
      dswap.enable: "true"
    stop_grace_period: 5s
    deploy:
      replicas: 3
      update_config:
        parallelism: 1
        failure_action: rollback
networks:
  lab:
    name: ${LAB_NETWORK}
    external: true
`

// needCompose returns how to run the given Compose, failing under CI when
// it is missing and skipping elsewhere.
func needCompose(t *testing.T, version string) {
	t.Helper()
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, args := "docker", []string{"compose", "version", "--short"}
	if version == "v1" {
		name, args = "docker-compose", []string{"version", "--short"}
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	want := map[string]string{"v2": "2.", "v1": "1."}[version]
	if err == nil && strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), want) {
		return
	}
	reason := fmt.Sprintf("compose %s is not available (%s %s: %v %s); run scripts/tools.sh, which installs Compose v2 as ~/.docker/cli-plugins/docker-compose", version, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// newComposeProject writes the project, starts three replicas of image
// with Compose and lets dswap adopt them.
func newComposeProject(t *testing.T, version, base, img string) *composeProject {
	t.Helper()
	needCompose(t, version)
	name := base + "-" + randomHex(2)
	p := &composeProject{version: version, name: "dswapc" + strings.ReplaceAll(name, "-", ""), dir: t.TempDir()}
	p.svc = &service{name: name, host: name + ".test"}
	p.file = filepath.Join(p.dir, "compose.yaml")
	slots := filepath.Join(p.dir, "slots")
	require.NoError(t, os.Mkdir(slots, 0o777))
	require.NoError(t, os.WriteFile(p.file, []byte(fmt.Sprintf(composeFile, img, name, p.svc.host)), 0o644))
	dotenv := fmt.Sprintf("COMPOSE_PROJECT_NAME=%s\nLAB_NETWORK=%s\nLAB_PREFIX=%s\nSLOTS_DIR=%s\n", p.name, suite.lab.Network, suite.lab.Prefix, slots)
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, ".env"), []byte(dotenv), 0o644))
	t.Cleanup(func() { p.down(t) })

	p.up(t)
	require.Len(t, p.ps(t), 3, "compose started three replicas")
	run := runDswap(t, "sync", p.name+"/web")
	require.Equal(t, 0, run.code, "dswap sync:\n%s%s", run.stdout, run.stderr)
	return p
}

// compose runs this project's Compose with args, bounded in time.
func (p *composeProject) compose(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, all := "docker", append([]string{"compose", "-f", p.file}, args...)
	if p.version == "v1" {
		name, all = "docker-compose", append([]string{"-f", p.file}, args...)
	}
	cmd := exec.CommandContext(ctx, name, all...)
	cmd.Dir = p.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "%s %s:\n%s%s", name, strings.Join(all, " "), stdout.String(), stderr.String())
	t.Logf("%s %s\n%s%s", name, strings.Join(all, " "), stderr.String(), stdout.String())
	return stdout.String()
}

// up runs `compose up -d` and waits until the service's containers are
// healthy.
func (p *composeProject) up(t *testing.T) {
	t.Helper()
	p.compose(t, "up", "-d")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range p.ps(t) {
		require.NoError(t, suite.lab.WaitHealthy(ctx, c.ID, 30*time.Second))
	}
}

// ps lists the containers `compose ps` shows for web, by name.
func (p *composeProject) ps(t *testing.T) []lab.Container {
	t.Helper()
	ids := strings.Fields(p.compose(t, "ps", "-q", "web"))
	all, err := suite.lab.ContainersOf(context.Background(), "com.docker.compose.project="+p.name)
	require.NoError(t, err)
	var out []lab.Container
	for _, c := range all {
		if slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(c.ID, id) }) {
			out = append(out, c)
		}
	}
	require.Len(t, out, len(ids), "every container compose lists is the lab's")
	return out
}

// down removes the project with Compose itself, and checks that nothing
// of it is left: compose's down includes the containers dswap created.
func (p *composeProject) down(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, args := "docker", []string{"compose", "-f", p.file, "down", "-v", "--timeout", "1"}
	if p.version == "v1" {
		name, args = "docker-compose", []string{"-f", p.file, "down", "-v", "--timeout", "1"}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s down: %v\n%s", name, err, out)
	}
	left, err := suite.lab.ContainersOf(ctx, "com.docker.compose.project="+p.name)
	if err == nil && len(left) > 0 {
		t.Errorf("compose down left containers of project %s: %v", p.name, left)
		for _, c := range left {
			_ = exec.CommandContext(ctx, "docker", "rm", "-f", c.ID).Run()
		}
	}
	_ = os.Remove(filepath.Join(suite.lab.RoutesDir, routeFileName(p.name, "web")))
}

// setImage edits the image: line of compose.yaml, as a user does.
func (p *composeProject) setImage(t *testing.T, img string) {
	t.Helper()
	b, err := os.ReadFile(p.file)
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "    image: ") {
			lines[i] = "    image: " + img
		}
	}
	require.NoError(t, os.WriteFile(p.file, []byte(strings.Join(lines, "\n")), 0o644))
}

// ids returns the IDs of the containers compose lists.
func ids(cs []lab.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// images returns the images of the containers compose lists.
func images(cs []lab.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Image)
	}
	return out
}

// underLoad runs fn while 8 clients send requests to svc through Traefik,
// sampling the servers Traefik routes every 20 ms.
func underLoad(t *testing.T, svc *service, fn func() dswapRun) (dswapRun, *loadgen.Report, int) {
	t.Helper()
	ld := svc.load(t, 8, "delay=20ms")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"), "load never reached v1 through Traefik")
	require.Eventually(t, func() bool { return ld.Count() >= 32 }, 30*time.Second, 10*time.Millisecond, "load did not get going")
	sampler := sampleServers(t, svc)
	run := fn()
	minServers, samples := sampler.finish()
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+32 }, 30*time.Second, 10*time.Millisecond, "load stopped after the swap")
	rep := ld.Stop()
	t.Logf("load: %s; min routed servers %d over %d samples", rep.Summary(), minServers, samples)
	require.Positive(t, samples, "Traefik's API was sampled")
	return run, rep, minServers
}

// TestComposeProject: a compose project of three replicas, created by
// Compose v2 and by docker-compose v1, adopted with dswap sync and updated
// the normal way — edit the file's image, `dswap up web` — under load, one
// replica at a time. Then what compose does afterwards is measured.
func TestComposeProject(t *testing.T) {
	for _, version := range composeVersions {
		t.Run(version, func(t *testing.T) {
			start := time.Now()
			p := newComposeProject(t, version, "compose"+version, image(imgV1))
			before := p.ps(t)

			// The file says v2; dswap reads it.
			p.setImage(t, image(imgV2))
			run, rep, minServers := underLoad(t, p.svc, func() dswapRun {
				return runDswap(t, "up", "web", "-f", p.file, "--output", "json")
			})
			require.Equal(t, 0, run.code, run.stderr)
			swapSeconds := run.result.TotalSeconds
			assertNoFailedRequests(t, rep)
			assert.GreaterOrEqual(t, minServers, 3, "Traefik routed three healthy containers at every sample")
			assert.Contains(t, run.stderr, "compose service")

			after := p.ps(t)
			require.Len(t, after, 3, "compose ps lists the three new containers")
			assert.Equal(t, []string{image(imgV2), image(imgV2), image(imgV2)}, images(after))
			sep := map[string]string{"v2": "-", "v1": "_"}[version]
			for _, c := range after {
				assert.True(t, strings.HasPrefix(c.Name, p.name+sep+"web"+sep), "compose-style name %s", c.Name)
				assert.NotContains(t, ids(before), c.ID)
			}
			assert.Contains(t, p.compose(t, "logs", "--no-color", "web"), `version="v2"`, "compose logs includes the new containers")

			// (b) The file names the image that runs: compose has nothing
			// to do.
			p.compose(t, "up", "-d")
			assert.Equal(t, ids(after), ids(p.ps(t)), "compose up -d after dswap up with the updated file recreated nothing")
			t.Logf("measured (%s, file updated): compose up -d kept %d containers", version, len(after))

			// (a) dswap swapped to an image the file does not name
			// (--image): the file is the desired state, and compose
			// recreates the containers from it.
			run = runDswap(t, "up", "web", "-f", p.file, "--image", image(imgV1), "--output", "json")
			require.Equal(t, 0, run.code, run.stderr)
			swapped := p.ps(t)
			p.compose(t, "up", "-d")
			recreated := p.ps(t)
			assert.Empty(t, intersect(ids(swapped), ids(recreated)), "compose up -d with the file still naming v2 recreated every container")
			assert.Equal(t, []string{image(imgV2), image(imgV2), image(imgV2)}, images(recreated), "back to what the file says")
			t.Logf("measured (%s, file not updated, swapped with --image): compose up -d recreated %d of %d containers, now %v", version, len(swapped)-len(intersect(ids(swapped), ids(recreated))), len(swapped), images(recreated))

			// (c) dswap swapped by image alone, with no compose file in
			// sight: what compose does depends on its version.
			require.Equal(t, 0, runDswap(t, "sync", p.name+"/web").code)
			run = runDswap(t, "up", image(imgV1), "--service", p.name+"/web", "--output", "json")
			require.Equal(t, 0, run.code, run.stderr)
			swapped = p.ps(t)
			p.compose(t, "up", "-d")
			recreated = p.ps(t)
			kept := len(intersect(ids(swapped), ids(recreated)))
			switch version {
			case "v2":
				assert.Zero(t, kept, "v2 compares the image ID label, which dswap keeps true: it recreates")
				assert.Equal(t, []string{image(imgV2), image(imgV2), image(imgV2)}, images(recreated))
			case "v1":
				assert.Equal(t, 3, kept, "v1 compares only its config hash, which an image swap without the file leaves as it was")
				assert.Equal(t, []string{image(imgV1), image(imgV1), image(imgV1)}, images(recreated))
			}
			t.Logf("measured (%s, image swap without the file): compose up -d kept %d of %d containers, now %v", version, kept, len(swapped), images(recreated))
			t.Logf("figures (%s): requests=%d failed=%d min routed servers=%d swap total=%.2fs test took %s",
				version, rep.Total, rep.Failed, minServers, swapSeconds, time.Since(start).Round(time.Second))
		})
	}
}

// TestComposeFailureInBatchTwoRollsBack: the update's image lets only one
// container ever turn healthy (HEALTHY_SLOTS=1 over a directory the
// replicas share), so batch one succeeds and batch two fails; with
// failure_action: rollback the first batch is rolled back and three v1
// containers serve, with no failed request.
func TestComposeFailureInBatchTwoRollsBack(t *testing.T) {
	for _, version := range composeVersions {
		t.Run(version, func(t *testing.T) {
			p := newComposeProject(t, version, "cfail"+version, image(imgV1))
			img := oneHealthyImage(t)
			run, rep, minServers := underLoad(t, p.svc, func() dswapRun {
				return runDswap(t, "up", "web", "-f", p.file, "--image", img, "--output", "json")
			})
			assert.Equal(t, 1, run.code, "a failed update exits 1")
			assert.Contains(t, run.result.Error, "unhealthy")
			assert.Contains(t, run.result.Kept, "the 1 batch(es) already updated were rolled back")
			assertNoFailedRequests(t, rep)
			assert.GreaterOrEqual(t, minServers, 3)
			after := p.ps(t)
			assert.Equal(t, []string{image(imgV1), image(imgV1), image(imgV1)}, images(after), "three v1 containers serve again")
			for _, c := range after {
				assert.Equal(t, "running", c.State)
			}
		})
	}
}

// oneHealthyImage builds, once, a v2 image of which only one container
// sharing /slots ever turns healthy.
func oneHealthyImage(t *testing.T) string {
	t.Helper()
	oneHealthy.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tag := suite.lab.Prefix + "-app:v2-one-healthy"
		oneHealthy.err = suite.lab.BuildApp(ctx, lab.AppImage{Tag: tag, Version: "v2", HealthRetries: 2,
			Env: map[string]string{"HEALTHY_SLOTS": "1", "HEALTHY_SLOTS_DIR": "/slots"}})
		oneHealthy.tag = tag
	})
	require.NoError(t, oneHealthy.err)
	return oneHealthy.tag
}

var oneHealthy struct {
	once sync.Once
	tag  string
	err  error
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestComposeBuildSection: the file's image: gives way to a build: section
// (no image name); `dswap up web` builds PROJECT-web as Compose v2 would,
// swaps to it, and compose then finds the containers up to date.
func TestComposeBuildSection(t *testing.T) {
	p := newComposeProject(t, "v2", "cbuild", image(imgV1))
	ctxDir := filepath.Join(p.dir, "app")
	require.NoError(t, os.Mkdir(ctxDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM "+image(imgV1)+"\nARG V\nENV VERSION=$V\n"), 0o644))
	built := p.name + "-web"
	t.Cleanup(func() { removeImage(t, built) })

	b, err := os.ReadFile(p.file)
	require.NoError(t, err)
	edited := strings.Replace(string(b), "    image: "+image(imgV1)+"\n", "    build:\n      context: ./app\n      args:\n        V: v2-built\n", 1)
	require.NotEqual(t, string(b), edited)
	require.NoError(t, os.WriteFile(p.file, []byte(edited), 0o644))

	run, rep, minServers := underLoad(t, p.svc, func() dswapRun {
		return runDswap(t, "up", "web", "-f", p.file, "--output", "json")
	})
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assert.GreaterOrEqual(t, minServers, 3)
	assert.Positive(t, rep.ByVersion["v2-built"], "the build argument from the file reached the image")
	assert.Contains(t, run.stderr, "building the service's image from its compose build section")
	after := p.ps(t)
	assert.Equal(t, []string{built, built, built}, images(after))

	p.compose(t, "up", "-d")
	assert.Equal(t, ids(after), ids(p.ps(t)), "compose up -d finds the built containers up to date")
}
