package e2e

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// The test images are FROM scratch with ENTRYPOINT ["/testapp"] and no
// shell, so most tasks use the exec form: ["task", ...] runs
// `/testapp task ...` under the image's entrypoint. The shell form runs in
// imgShell, where testapp is /bin/sh as well (see testapp's shell.go).

// TestTasksPreMarksSharedVolume: a pre task of v2 writes a marker into a
// named volume the service mounts; v2 serves it, and no request fails
// during the swap under load.
func TestTasksPreMarksSharedVolume(t *testing.T) {
	vol := "dswap-e2e-tasks-" + randomHex(3)
	dockerCLI(t, "volume", "create", vol)
	// Registered before the service, so it runs after the service's
	// containers are gone: a volume still in use cannot be removed.
	t.Cleanup(func() {
		if out, err := dockerOutput("volume", "rm", "-f", vol); err != nil {
			t.Errorf("removing volume %s: %v: %s", vol, err, out)
		}
	})
	svc := startService(t, "taskpre", serviceOpts{binds: []string{vol + ":/data"}, env: []string{"MARKER_FILE=/data/marker"}})

	run, rep := svc.swapUnderLoad(t, 8, "", image(imgV2), "--pre", `["task","mark","/data/marker"]`)
	require.Equal(t, 0, run.code, run.stderr)
	assertNoFailedRequests(t, rep)
	assert.Contains(t, run.stderr, "marked /data/marker with v2", "the task's output is in dswap's log")
	assert.Equal(t, "v2:v2", getThroughTraefik(t, svc, "/marker"), "v2 sees the marker its own image's task wrote")
	assertNoTaskContainers(t, svc)
}

// TestTasksPreFailureChangesNothing: a pre task that exits non-zero stops
// the swap: exit 1, the task's output in the error, v1 serving, no v2
// container and no one-off container left.
func TestTasksPreFailureChangesNothing(t *testing.T) {
	svc := startService(t, "taskfail", serviceOpts{})
	run := svc.up(t, image(imgV2), "--pre", `["task","exit","3"]`)
	assert.Equal(t, 1, run.code)
	assert.Equal(t, "pre", run.result.Phase)
	assert.Contains(t, run.result.Error, "exited with code 3")
	assert.Contains(t, run.result.Error, "migration failed: table already exists", "the task's last output is in the error")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "v1 alone, routed")
	assertNoTaskContainers(t, svc)
	assertServes(t, svc, "v1")
}

// TestTasksPreTimeout: a pre task running past --task-timeout is stopped
// and removed, and the swap fails with nothing changed.
func TestTasksPreTimeout(t *testing.T) {
	svc := startService(t, "tasktime", serviceOpts{})
	run := svc.up(t, image(imgV2), "--pre", `["task","sleep","5m"]`, "--task-timeout", "3s")
	assert.Equal(t, 1, run.code)
	assert.Contains(t, run.result.Error, "ran past its timeout of 3s")
	assert.Contains(t, run.result.Error, "sleeping 5m0s")
	assert.Less(t, run.took, time.Minute, "the task was stopped, not waited for")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))
	assertNoTaskContainers(t, svc)
}

// TestTasksPostFailureRollsBack: a post task failing with --post-failure
// rollback moves traffic back to v1, and dswap exits 1.
func TestTasksPostFailureRollsBack(t *testing.T) {
	svc := startService(t, "taskpost", serviceOpts{})
	run := svc.up(t, image(imgV2), "--post", `["task","exit","4"]`, "--post-failure", "rollback")
	assert.Equal(t, 1, run.code)
	assert.Equal(t, "post", run.result.Phase)
	assert.Contains(t, run.result.Error, "exited with code 4")
	assert.Contains(t, run.stderr, "task of v2 starting", "the post task ran in the new image")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "traffic is back on v1")
	assertNoTaskContainers(t, svc)
	assertServes(t, svc, "v1")
}

// TestTasksEnvAndNetwork: the one-off container has the service's
// environment and networks: it reaches another container by its alias.
func TestTasksEnvAndNetwork(t *testing.T) {
	svc := startService(t, "tasknet", serviceOpts{env: []string{"TASK_SECRET=s3cret"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alias := "peer-" + randomHex(3)
	peer, err := suite.lab.RunApp(ctx, lab.App{Name: svc.name + "-peer", Image: image(imgV1), Aliases: []string{alias}})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = dockerOutput("rm", "-f", peer) })
	require.NoError(t, suite.lab.WaitHealthy(ctx, peer, 30*time.Second))

	run := svc.up(t, image(imgV2), "--pre", `["task","get","http://`+alias+`:8080/"]`)
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stderr, "got 200 from http://"+alias+":8080/: v1")
	assert.Contains(t, run.stderr, "task VERSION=v2 TASK_SECRET=s3cret", "the new image's VERSION, the service's own variable")
	assertNoTaskContainers(t, svc)
}

// TestTasksInterruptedPreTask: Ctrl-C (SIGINT) while a pre task runs stops
// the task and removes its container; nothing else changed, and dswap exits
// 1 as for any swap interrupted before its flip.
func TestTasksInterruptedPreTask(t *testing.T) {
	svc := startService(t, "taskint", serviceOpts{})
	signalled, run := runDswapSignalledAt(t, syscall.SIGINT, "sleeping 5m0s", "up", image(imgV2), "--service", svc.name, "--pre", `["task","sleep","5m"]`)
	require.True(t, signalled, "dswap got SIGINT while the task ran")
	assert.Equal(t, 1, run.code, "exit code of an interrupted swap")
	assert.Contains(t, run.stderr, "was interrupted and stopped")
	assertNoTaskContainers(t, svc)
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "no v2 container, v1 routed")
	assertServes(t, svc, "v1")
}

// TestTasksKilledDuringPreTask: a dswap killed (SIGKILL) while a pre task
// runs leaves the one-off running; dswap status shows it, and the next
// command for the service kills and removes it.
func TestTasksKilledDuringPreTask(t *testing.T) {
	svc := startService(t, "taskkill", serviceOpts{})
	require.True(t, runDswapKilledAt(t, "sleeping 5m0s", "up", image(imgV2), "--service", svc.name, "--pre", `["task","sleep","5m"]`))
	left := strings.Fields(dockerCLI(t, "ps", "-q", "--filter", "label=dswap.task.service="+svc.name))
	require.Len(t, left, 1, "the killed dswap left its task running")

	st := runDswap(t, "status", svc.name)
	require.Equal(t, 0, st.code, st.stderr)
	assert.Contains(t, st.stdout, "release task container(s) left: "+svc.name+"-pre-1-")

	run := runDswap(t, "sync", svc.name)
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stderr, "removing the container of a release task a killed dswap left")
	assertNoTaskContainers(t, svc)
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))
}

// TestTasksShellForm: a task given as a string runs as /bin/sh -c in the
// new image, with its environment expanded by that shell; a failing one
// stops the swap.
func TestTasksShellForm(t *testing.T) {
	svc := startService(t, "tasksh", serviceOpts{env: []string{"STAGE=prod"}})
	failed := svc.up(t, image(imgShell), "--pre", "echo migrating $VERSION for $STAGE && exit 5")
	assert.Equal(t, 1, failed.code)
	assert.Contains(t, failed.result.Error, "exited with code 5")
	assert.Contains(t, failed.result.Error, "migrating v2 for prod")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))

	// Without an entrypoint the exec form names the program itself.
	run := svc.up(t, image(imgShell), "--pre", "echo migrating $VERSION for $STAGE", "--post", `["/testapp","task","sleep","1ms"]`)
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stderr, `"msg":"migrating v2 for prod","phase":"pre"`)
	assert.Contains(t, run.stderr, `"msg":"sleeping 1ms","phase":"post"`)
	assert.Equal(t, image(imgShell), assertConsistent(t, svc))
	assertServes(t, svc, "v2")
	assertNoTaskContainers(t, svc)
}

// assertNoTaskContainers checks that no one-off container of the service
// is left, running or not.
func assertNoTaskContainers(t *testing.T, svc *service) {
	t.Helper()
	out := dockerCLI(t, "ps", "-aq", "--filter", "label=dswap.task.service="+svc.name)
	assert.Empty(t, strings.TrimSpace(out), "one-off task containers left behind")
}

// getThroughTraefik GETs path of the service through Traefik.
func getThroughTraefik(t *testing.T, svc *service, path string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, suite.lab.WebURL+path, nil)
	require.NoError(t, err)
	req.Host = svc.host
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

func dockerOutput(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return string(out), err
}
