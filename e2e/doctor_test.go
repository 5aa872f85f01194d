package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/doctor"
	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// doctorReport is `dswap doctor --output json`.
type doctorReport struct {
	OK       bool             `json:"ok"`
	Findings []doctor.Finding `json:"findings"`
}

func runDoctor(t *testing.T, env []string, services ...string) (dswapRun, doctorReport) {
	t.Helper()
	run := runDswapEnv(t, env, append([]string{"doctor", "--output", "json"}, services...)...)
	var rep doctorReport
	require.NoError(t, json.Unmarshal([]byte(lastLine(run.stdout)), &rep), "doctor's JSON: %s", run.stdout)
	return run, rep
}

// finding returns the finding of check about subject (a service name
// prefix; "" for a check about the host).
func finding(t *testing.T, rep doctorReport, check, subject string) doctor.Finding {
	t.Helper()
	for _, f := range rep.Findings {
		if f.Check == check && strings.HasPrefix(f.Subject, subject) {
			return f
		}
	}
	t.Fatalf("no %s finding about %q in %+v", check, subject, rep.Findings)
	return doctor.Finding{}
}

// TestDoctorGoodSetup: the lab's Traefik and a well-made service pass
// every check, and doctor exits 0.
func TestDoctorGoodSetup(t *testing.T) {
	svc := startService(t, "docgood", serviceOpts{})
	run, rep := runDoctor(t, nil, svc.name)
	require.Equal(t, 0, run.code, run.stderr)
	assert.True(t, rep.OK)
	for _, f := range rep.Findings {
		if f.Check == "sidecar-token" {
			continue // other tests' sidecars may run on the same Engine
		}
		assert.Equal(t, doctor.OK, f.Status, "%s: %s (fix: %s)", f.Check, f.Message, f.Fix)
	}
	api := finding(t, rep, "api", "")
	assert.Contains(t, api.Message, suite.lab.APIURL)
	assert.Contains(t, api.Message, "v3.")
	assert.Contains(t, finding(t, rep, "file-provider", "").Message, "/routes")
}

// TestDoctorBrokenSetup makes several faults on purpose and checks that
// each gives its finding and fix, and that doctor exits 2.
func TestDoctorBrokenSetup(t *testing.T) {
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	suffix := randomHex(2)
	// Created first, so that it is removed after the containers on it.
	netName := "dswap-doctor-" + suffix
	dockerCLI(t, "network", "create", netName)
	t.Cleanup(func() { _ = dockerQuiet(t, "network", "rm", netName) })
	run := func(name, img string) string {
		labels := map[string]string{"dswap.service": name, "traefik.enable": "false"}
		id, err := suite.lab.RunApp(ctx, lab.App{Name: name, Image: img, Labels: labels})
		require.NoError(t, err)
		t.Cleanup(func() { _ = dockerQuiet(t, "rm", "-f", id) })
		return id
	}
	noHealth := "docnohc-" + suffix
	run(noHealth, image(imgNoHealth))
	// A fixed host port (a random one, "127.0.0.1::8080", would not stop a
	// second container from starting).
	ported := "docport-" + suffix
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	dockerCLI(t, "run", "-d", "--name", ported, "--network", suite.lab.Network, "--label", "dswap.lab="+suite.lab.Prefix,
		"--label", "dswap.service="+ported, "--label", "traefik.enable=false", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), image(imgV1))
	t.Cleanup(func() { _ = dockerQuiet(t, "rm", "-f", ported) })
	// A service on a network of its own, not Traefik's.
	alone := "docalone-" + suffix
	run(alone, image(imgV1))
	dockerCLI(t, "network", "connect", netName, alone)
	dockerCLI(t, "network", "disconnect", suite.lab.Network, alone)

	cmd, rep := runDoctor(t, nil, noHealth, ported, alone)
	assert.Equal(t, 2, cmd.code, "a failed check exits 2")
	assert.False(t, rep.OK)

	f := finding(t, rep, "healthcheck", noHealth)
	assert.Equal(t, doctor.Fail, f.Status)
	assert.Contains(t, f.Message, "no HEALTHCHECK")
	assert.Contains(t, f.Fix, "HEALTHCHECK")

	f = finding(t, rep, "host-ports", ported)
	assert.Equal(t, doctor.Fail, f.Status)
	assert.Contains(t, f.Message, fmt.Sprintf("%d->8080/tcp", port))
	assert.Contains(t, f.Fix, "remove the ports:")

	f = finding(t, rep, "network", alone)
	assert.Equal(t, doctor.Fail, f.Status)
	assert.Contains(t, f.Message, "shares no network with Traefik")
	assert.Contains(t, f.Fix, "docker network connect "+suite.lab.Network+" "+alone)

	for _, check := range []string{"traefik", "file-provider", "api"} {
		assert.Equal(t, doctor.OK, finding(t, rep, check, "").Status, "the lab's Traefik is fine")
	}

	// A Traefik whose file provider reads one mounted file, found by
	// discovery (no routes directory or API given).
	out := strings.TrimSpace(dockerCLI(t, "inspect", "--format", "{{.Config.Image}}", suite.lab.TraefikName))
	dynamic := filepath.Join(t.TempDir(), "dynamic.yml")
	require.NoError(t, os.WriteFile(dynamic, []byte("http: {}\n"), 0o644))
	single := "doctraefik-" + suffix
	dockerCLI(t, "run", "-d", "--name", single, "--network", "none", "--label", "dswap.lab="+suite.lab.Prefix,
		"-v", dynamic+":/etc/traefik/dynamic.yml:ro", out,
		"--providers.file.filename=/etc/traefik/dynamic.yml", "--entrypoints.web.address=:80", "--global.checkNewVersion=false")
	t.Cleanup(func() { _ = dockerQuiet(t, "rm", "-f", single) })
	cmd, rep = runDoctor(t, []string{"DSWAP_ROUTES_DIR=", "DSWAP_TRAEFIK_API=", "DSWAP_TRAEFIK_CONTAINER=" + single}, "no-such-service")
	assert.Equal(t, 2, cmd.code)
	f = finding(t, rep, "file-provider", "")
	assert.Equal(t, doctor.Fail, f.Status)
	assert.Contains(t, f.Message, "single file (providers.file.filename=/etc/traefik/dynamic.yml)")
	assert.Contains(t, f.Fix, "--providers.file.directory=/routes")
	f = finding(t, rep, "api", "")
	assert.Equal(t, doctor.Fail, f.Status)
	assert.Contains(t, f.Fix, "--api.insecure=true")
	assert.Equal(t, doctor.Warn, finding(t, rep, "metrics", "").Status)
}

// dockerQuiet runs the docker CLI for cleanup, where a failure is only logged.
func dockerQuiet(t *testing.T, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := osexec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Logf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return err
}
