package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A broken v2 must leave v1 serving with no failed request, no leftover
// container, a non-zero exit and the reason in the output.

func TestBrokenVersionNeverHealthy(t *testing.T) {
	svc := startService(t, "unhealthy", serviceOpts{})
	before := svc.routeFile(t)
	run, rep := svc.swapUnderLoad(t, 8, "", image(imgNeverHealthy), "--drain", "5s")

	assert.Equal(t, 1, run.code, "exit code for a swap that failed and was rolled back")
	assert.Equal(t, "failed", run.result.Result)
	assert.Equal(t, "health", run.result.Phase)
	assert.Contains(t, run.result.Error, "is unhealthy")
	assert.Contains(t, run.result.Details, "health checks", "the new container's health log is shown")
	assert.Contains(t, run.result.Details, "503")
	assert.Contains(t, run.result.Kept, "keeps serving")

	assertNoFailedRequests(t, rep)
	assert.Zero(t, rep.ByVersion["v2"])
	assertOnlyV1Left(t, svc, before)
}

func TestBrokenVersionExitsAtStart(t *testing.T) {
	svc := startService(t, "crashing", serviceOpts{})
	before := svc.routeFile(t)
	run, rep := svc.swapUnderLoad(t, 8, "", image(imgExitAtStart), "--drain", "5s")

	assert.Equal(t, 1, run.code)
	assert.Contains(t, run.result.Error, "exited (code 3) before it was healthy")
	assert.Contains(t, run.result.Details, "exiting at start because EXIT_AT_START=1", "the new container's last log lines are shown")

	assertNoFailedRequests(t, rep)
	assert.Zero(t, rep.ByVersion["v2"])
	assertOnlyV1Left(t, svc, before)
}

func assertOnlyV1Left(t *testing.T, svc *service, routeBefore string) {
	t.Helper()
	cs := svc.containers(t)
	require.Len(t, cs, 1, "the failed container was removed")
	assert.Equal(t, svc.name, cs[0].Name)
	assert.Equal(t, "running", cs[0].State)
	assert.Equal(t, routeBefore, svc.routeFile(t), "the route is unchanged")
}
