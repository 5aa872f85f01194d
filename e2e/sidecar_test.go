package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/server"
)

// The sidecar tests bring up examples/compose/docker-compose.yml as a user
// would (Traefik, dswap serve, the app), with the lab's images: the
// Traefik built from its module, dswap built from this checkout, and the
// test app. Everything is published on 127.0.0.1, on ports picked free.

const exampleCompose = "../examples/compose/docker-compose.yml"

func TestSidecarComposeV1(t *testing.T) { sidecarScenario(t, "v1") }

func TestSidecarComposeV2(t *testing.T) { sidecarScenario(t, "v2") }

// sidecar is one running example project.
type sidecar struct {
	version  string
	project  string
	env      []string
	routes   string
	api      string // http://127.0.0.1:<port> of dswap serve
	web      string // http://127.0.0.1:<port> of Traefik's web entrypoint
	host     string // the app's Host
	token    string
	ghSecret string
	regToken string
}

// ref is the app's service as the API names it.
func (s *sidecar) ref() string { return s.project + "/app" }

func sidecarScenario(t *testing.T, version string) {
	needCompose(t, version)
	s := startSidecar(t, version)

	// Adoption: nobody ran dswap sync; the sidecar routed the app once it
	// was healthy.
	var st server.ServiceStatus
	require.Eventually(t, func() bool {
		code, body := s.call(t, http.MethodGet, "/v1/services/"+url.PathEscape(s.ref()), s.token, nil, nil)
		if code != http.StatusOK || json.Unmarshal(body, &st) != nil || len(st.Containers) != 1 {
			return false
		}
		return st.Containers[0].Routed
	}, 90*time.Second, 200*time.Millisecond, "the sidecar never routed the app")
	routeFile := filepath.Join(s.routes, routeFileName(s.project, "app"))
	require.FileExists(t, routeFile)
	s.waitServes(t, "v1")

	t.Run("swap under load through DSWAP_HOST", func(t *testing.T) {
		ld := s.load(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, ld.WaitVersion(ctx, "v1"))
		require.Eventually(t, func() bool { return ld.Count() >= 32 }, 30*time.Second, 10*time.Millisecond, "load did not get going")
		run := runDswapEnv(t, []string{"DSWAP_HOST=" + s.api, "DSWAP_TOKEN=" + s.token},
			"up", image(imgV2), "--service", s.ref(), "--drain", "5s", "--output", "json")
		after := ld.Count()
		require.Eventually(t, func() bool { return ld.Count() >= after+32 }, 30*time.Second, 10*time.Millisecond, "load stopped after the swap")
		rep := ld.Stop()
		t.Logf("load: %s", rep.Summary())
		require.Equal(t, 0, run.code, run.stderr)
		assert.Equal(t, "swapped", run.result.Result)
		assert.Contains(t, run.stderr, `"msg":"route applied"`, "the sidecar's progress records reach the client")
		assertNoFailedRequests(t, rep)
		assertNoMixedVersions(t, rep, "v2")
		assert.Positive(t, rep.ByVersion["v2"])
		app := s.app(t)
		assert.Equal(t, image(imgV2), app.Image)
		assert.Contains(t, readFile(t, routeFile), "http://"+app.Name+":8080")
	})

	t.Run("release task through DSWAP_HOST", func(t *testing.T) {
		run := runDswapEnv(t, []string{"DSWAP_HOST=" + s.api, "DSWAP_TOKEN=" + s.token},
			"up", image(imgV2), "--service", s.ref(), "--force", "--drain", "2s", "--output", "json", "--pre", `["task","sleep","1s"]`)
		require.Equal(t, 0, run.code, run.stderr)
		assert.Regexp(t, `"msg":"sleeping 1s","phase":"pre".*"stream":"output"`, run.stderr, "the task's output went through the sidecar's event stream")
		require.Len(t, run.result.Tasks, 1, "the result lists the task")
		task := run.result.Tasks[0]
		assert.Equal(t, "pre", task.Stage)
		assert.Equal(t, `["task","sleep","1s"]`, task.Command)
		assert.Equal(t, 0, task.ExitCode)
		assert.Equal(t, []string{"sleeping 1s"}, task.Output)
		assert.GreaterOrEqual(t, task.Seconds, 1.0)
		assert.Equal(t, image(imgV2), s.app(t).Image)
	})

	t.Run("unauthenticated calls change nothing", func(t *testing.T) {
		before, route := s.app(t), readFile(t, routeFile)
		body := []byte(`{"image":"` + image(imgV1) + `"}`)
		for name, token := range map[string]string{"no token": "", "wrong token": "not-" + s.token} {
			code, resp := s.call(t, http.MethodPost, "/v1/services/"+url.PathEscape(s.ref())+"/swap?wait=true", token, body, nil)
			assert.Equal(t, http.StatusUnauthorized, code, "%s: %s", name, resp)
		}
		run := runDswapEnv(t, []string{"DSWAP_HOST=" + s.api, "DSWAP_TOKEN=wrong"}, "up", image(imgV1), "--service", s.ref())
		assert.Equal(t, 2, run.code, "a wrong token is bad input for dswap up")
		s.assertUnchanged(t, before, routeFile, route)
	})

	t.Run("GitHub webhook", func(t *testing.T) {
		before, route := s.app(t), readFile(t, routeFile)
		// A package event for the tag v1 of the app's repository, which
		// the hook maps to the service (pull never: the lab's image is
		// local).
		event := []byte(fmt.Sprintf(`{"action":"published","package":{"name":"app","package_type":"CONTAINER","owner":{"login":"lab"},
			"package_version":{"package_url":"%s","container_metadata":{"tag":{"name":"v1"}}}}}`, image(imgV1)))
		headers := map[string]string{"X-GitHub-Event": "package", "Content-Type": "application/json"}
		for name, sig := range map[string]string{
			"no signature":    "",
			"wrong secret":    githubSignature("guessed", event),
			"other body's":    githubSignature(s.ghSecret, []byte(`{}`)),
			"not a signature": "sha256=nothex",
		} {
			headers["X-Hub-Signature-256"], headers["X-GitHub-Delivery"] = sig, "bad-"+name
			code, resp := s.call(t, http.MethodPost, "/v1/hooks/github", "", event, headers)
			assert.Equal(t, http.StatusUnauthorized, code, "%s: %s", name, resp)
		}
		s.assertUnchanged(t, before, routeFile, route)

		headers["X-Hub-Signature-256"], headers["X-GitHub-Delivery"] = githubSignature(s.ghSecret, event), "good-"+randomHex(4)
		code, resp := s.call(t, http.MethodPost, "/v1/hooks/github", "", event, headers)
		require.Equal(t, http.StatusAccepted, code, string(resp))
		out := s.waitSwaps(t, resp)
		assert.Equal(t, "swapped", out.Result, out.Error)
		assert.Equal(t, image(imgV1), s.app(t).Image)
		s.waitServes(t, "v1")
	})

	t.Run("registry webhook", func(t *testing.T) {
		if s.regToken == "" {
			unavailable(t, "no registry: run scripts/tools.sh and set "+lab.RegistryBinEnv)
		}
		reg := testRegistry(t)
		repo := reg.Host + "/sidecar-" + s.project
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		digest, err := reg.Push(ctx, image(imgV2), repo+":v2")
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = exec.Command("docker", "rmi", repo+":v2").CombinedOutput() })
		envelope := []byte(fmt.Sprintf(`{"events":[{"id":"%s","action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"%s","repository":"sidecar-%s","tag":"v2"},"request":{"host":"%s","method":"PUT"}}]}`,
			randomHex(8), digest, s.project, reg.Host))

		before, route := s.app(t), readFile(t, routeFile)
		code, _ := s.call(t, http.MethodPost, "/v1/hooks/registry", "wrong", envelope, nil)
		assert.Equal(t, http.StatusUnauthorized, code)
		s.assertUnchanged(t, before, routeFile, route)

		code, resp := s.call(t, http.MethodPost, "/v1/hooks/registry", s.regToken, envelope, nil)
		require.Equal(t, http.StatusAccepted, code, string(resp))
		out := s.waitSwaps(t, resp)
		assert.Equal(t, "swapped", out.Result, out.Error)
		assert.Equal(t, repo+":v2", s.app(t).Image, "pulled from the registry with the sidecar's login")
		s.waitServes(t, "v2")
	})

	t.Run("a restart does not rewrite the route", func(t *testing.T) {
		app := s.app(t)
		info, err := os.Stat(routeFile)
		require.NoError(t, err)
		route := readFile(t, routeFile)
		since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
		dockerCLI(t, "restart", "-t", "5", app.ID)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, suite.lab.WaitHealthy(ctx, app.ID, 30*time.Second))
		// The keeper looked at the service after the events and found
		// its route right: the same name, so the same file.
		want := `msg="route kept" service=` + s.ref() + ` upkeep=unchanged`
		require.Eventually(t, func() bool {
			return strings.Contains(s.logs(t, since), want)
		}, 30*time.Second, 100*time.Millisecond, "the keeper did not look at the service after its restart")
		after, err := os.Stat(routeFile)
		require.NoError(t, err)
		assert.Equal(t, info.ModTime(), after.ModTime(), "an identical rewrite would cost Traefik a reload")
		assert.Equal(t, route, readFile(t, routeFile))
		s.waitServes(t, "")
	})

	code, body := s.call(t, http.MethodGet, "/v1/services/"+url.PathEscape(s.ref())+"/history", s.token, nil, nil)
	require.Equal(t, http.StatusOK, code)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal(body, &entries))
	assert.GreaterOrEqual(t, len(entries), 2, "the swaps are in the service's history")

	// Other tests' services share the Engine but not this Traefik's
	// network: the keeper must have left them alone, without errors.
	var warnings, errs []string
	for _, l := range strings.Split(s.logs(t, ""), "\n") {
		switch {
		case strings.Contains(l, "level=ERROR"):
			errs = append(errs, l)
		case strings.Contains(l, "level=WARN"):
			warnings = append(warnings, l)
		}
	}
	assert.Empty(t, errs, "the sidecar logged errors")
	t.Logf("sidecar warnings: %d\n%s", len(warnings), strings.Join(warnings, "\n"))
}

// startSidecar brings the example project up and waits for its API.
func startSidecar(t *testing.T, version string) *sidecar {
	t.Helper()
	s := &sidecar{
		version: version,
		project: "dswapside" + version + randomHex(3),
		routes:  t.TempDir(),
		token:   randomHex(16), ghSecret: randomHex(16),
	}
	require.NoError(t, os.Chmod(s.routes, 0o755))
	s.host = s.project + ".test"
	ports := freePorts(t, 3)
	s.web, s.api = "http://127.0.0.1:"+ports[0], "http://127.0.0.1:"+ports[2]
	appRepo := strings.SplitN(image(imgV1), ":", 2)[0]
	hooks := []string{"service=" + s.project + "/app,image=" + appRepo + ",tags=v*,pull=never"}
	s.env = []string{
		"COMPOSE_PROJECT_NAME=" + s.project,
		"APP_IMAGE=" + image(imgV1),
		"APP_HOST=" + s.host,
		"TRAEFIK_IMAGE=dswap-lab/traefik:local",
		"DSWAP_IMAGE=" + dswapImage(t),
		"DSWAP_TOKEN=" + s.token,
		"DSWAP_GITHUB_SECRET=" + s.ghSecret,
		"DSWAP_LOG_LEVEL=debug",
		"ROUTES_DIR=" + s.routes,
		"WEB_PORT=" + ports[0], "TRAEFIK_API_PORT=" + ports[1], "DSWAP_PORT=" + ports[2],
	}
	if lab.RegistryBinFromEnv() != "" || os.Getenv("CI") == "true" {
		reg := testRegistry(t)
		s.regToken = randomHex(16)
		hooks = append(hooks, "service="+s.project+"/app,image="+reg.Host+"/sidecar-"+s.project+",tags=v*")
		s.env = append(s.env, "DSWAP_REGISTRY_TOKEN="+s.regToken, "DSWAP_REGISTRY_USER="+reg.Username, "DSWAP_REGISTRY_PASSWORD="+reg.Password)
	}
	s.env = append(s.env, "DSWAP_HOOK="+strings.Join(hooks, ";"))

	t.Cleanup(func() { s.down(t) })
	s.compose(t, "up", "-d")
	require.Eventually(t, func() bool {
		code, _ := s.call(t, http.MethodGet, "/v1/services", s.token, nil, nil)
		return code == http.StatusOK
	}, 90*time.Second, 200*time.Millisecond, "dswap serve never answered")
	assert.Contains(t, s.logs(t, ""), "found Traefik in dswap's compose project", "the sidecar keeps to its own Traefik")
	return s
}

// compose runs the project's Compose, bounded in time.
func (s *sidecar) compose(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name, all := "docker", append([]string{"compose", "-p", s.project, "-f", exampleCompose}, args...)
	if s.version == "v1" {
		name, all = "docker-compose", append([]string{"-p", s.project, "-f", exampleCompose}, args...)
	}
	cmd := exec.CommandContext(ctx, name, all...)
	cmd.Env = withEnv(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(all, " "), out)
	return string(out)
}

// down removes the project, and whatever dswap created in it.
func (s *sidecar) down(t *testing.T) {
	if t.Failed() {
		t.Logf("sidecar logs:\n%s", s.logs(t, ""))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name, all := "docker", []string{"compose", "-p", s.project, "-f", exampleCompose, "down", "-v", "--remove-orphans", "-t", "5"}
	if s.version == "v1" {
		name, all = "docker-compose", all[1:]
	}
	cmd := exec.CommandContext(ctx, name, all...)
	cmd.Env = withEnv(os.Environ(), s.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("%s %s: %v\n%s", name, strings.Join(all, " "), err, out)
	}
	out, _ := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+s.project).Output()
	for _, id := range strings.Fields(string(out)) {
		_, _ = exec.CommandContext(ctx, "docker", "rm", "-f", id).CombinedOutput()
	}
	_, _ = exec.CommandContext(ctx, "docker", "network", "rm", s.project+"_default").CombinedOutput()
}

// logs returns the sidecar container's log since a time ("" for all).
func (s *sidecar) logs(t *testing.T, since string) string {
	t.Helper()
	args := []string{"logs"}
	if since != "" {
		args = append(args, "--since", since)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids, _ := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+s.project, "--filter", "label=com.docker.compose.service=dswap").Output()
	var b strings.Builder
	for _, id := range strings.Fields(string(ids)) {
		out, _ := exec.CommandContext(ctx, "docker", append(args, id)...).CombinedOutput()
		b.Write(out)
	}
	return b.String()
}

// app returns the app's one running container.
func (s *sidecar) app(t *testing.T) lab.Container {
	t.Helper()
	out := dockerCLI(t, "ps", "--filter", "label=com.docker.compose.project="+s.project, "--filter", "label=com.docker.compose.service=app",
		"--format", "{{.ID}} {{.Names}} {{.Image}}")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, "the app runs exactly one container:\n%s", out)
	f := strings.Fields(lines[0])
	require.Len(t, f, 3)
	return lab.Container{ID: f[0], Name: f[1], Image: f[2]}
}

func (s *sidecar) assertUnchanged(t *testing.T, before lab.Container, routeFile, route string) {
	t.Helper()
	now := s.app(t)
	assert.Equal(t, before.ID, now.ID, "the app's container is the same")
	assert.Equal(t, route, readFile(t, routeFile), "the route is the same")
}

// call sends one API request; token "" sends none.
func (s *sidecar) call(t *testing.T, method, path, token string, body []byte, headers map[string]string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitSwaps waits for the swaps a webhook answer lists and returns the
// outcome of the first.
func (s *sidecar) waitSwaps(t *testing.T, answer []byte) server.Outcome {
	t.Helper()
	var ans struct {
		Swaps []struct {
			ID string `json:"id"`
		} `json:"swaps"`
	}
	require.NoError(t, json.Unmarshal(answer, &ans))
	require.Len(t, ans.Swaps, 1, string(answer))
	var view struct {
		State   string          `json:"state"`
		Outcome *server.Outcome `json:"outcome"`
	}
	require.Eventually(t, func() bool {
		code, body := s.call(t, http.MethodGet, "/v1/swaps/"+ans.Swaps[0].ID, s.token, nil, nil)
		return code == http.StatusOK && json.Unmarshal(body, &view) == nil && view.State == "done"
	}, 2*time.Minute, 200*time.Millisecond, "the webhook's swap did not end")
	require.NotNil(t, view.Outcome)
	return *view.Outcome
}

// load starts closed-loop clients through the project's Traefik.
func (s *sidecar) load(t *testing.T) *loadgen.Run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	run, err := loadgen.Start(ctx, loadgen.Options{
		URL: s.web + "/", Host: s.host, Clients: 8, MaxDuration: 3 * time.Minute, MaxRequests: 500_000, Timeout: 30 * time.Second,
	})
	require.NoError(t, err)
	return run
}

// waitServes waits until the app answers through Traefik, with the given
// version if not "".
func (s *sidecar) waitServes(t *testing.T, version string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, s.web+"/", nil)
		req.Host = s.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := strings.TrimSpace(string(b))
			last = fmt.Sprintf("%d %s", resp.StatusCode, got)
			if resp.StatusCode == http.StatusOK && (version == "" || got == version) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond) // polling Traefik: no event says the app answers
	}
	require.Failf(t, "the app did not answer through Traefik", "want version %q; last answer: %s", version, last)
}

// githubSignature is X-Hub-Signature-256 as GitHub computes it.
func githubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// dswapImage builds dswap's image FROM scratch from a static binary of
// this checkout, as scripts/image.sh does, under a tag unique to the test.
func dswapImage(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, "dswap"), "../cmd/dswap")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building a static dswap: %s", out)
	dockerfile, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	// The repository's Dockerfile, with the binary where it expects it.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(dir, "dswap"), filepath.Join(dir, "bin", "dswap")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644))
	tag := suite.lab.Prefix + "-dswap:" + randomHex(3)
	dockerCLI(t, "build", "-q", "-t", tag, dir)
	t.Cleanup(func() { _, _ = exec.Command("docker", "rmi", "-f", tag).CombinedOutput() })
	return tag
}

// freePorts picks n free ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		out = append(out, fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
