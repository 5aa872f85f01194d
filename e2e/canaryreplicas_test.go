package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
)

// TestCanaryReplicasThenPromote: a service of three replicas paused at 10%
// with --canary-replicas 2 runs two new containers in the canary child and
// the three old ones in the stable child; dswap promote then swaps the rest
// in batches: three v2 replicas, no request failed throughout.
func TestCanaryReplicasThenPromote(t *testing.T) {
	svc := startReplicas(t, "canary-replicas", 3)
	ld := svc.load(t, 4, "")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"))

	run := svc.up(t, image(imgV2), "--canary", "10%", "--pause", "--canary-replicas", "2")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Len(t, run.result.New, 2, "two canary containers")
	rf, err := labels.ReadRouteFile([]byte(svc.routeFile(t)))
	require.NoError(t, err)
	assert.Len(t, rf.Servers[svc.name+"-canary"], 2, "the canary child routes two containers")
	assert.Len(t, rf.Servers[svc.name+"-stable"], 3, "the stable child the three old ones")
	assert.Len(t, svc.containers(t), 5)
	require.NoError(t, ld.WaitVersion(waitCtx, "v2"))

	promote := runDswap(t, "promote", svc.name, "--output", "json")
	require.Equal(t, 0, promote.code, promote.stderr)
	after := ld.Count()
	require.Eventually(t, func() bool { return ld.Count() >= after+16 }, 30*time.Second, 10*time.Millisecond, "load stopped after the promotion")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	assertNoFailedRequests(t, rep)
	cs := svc.containers(t)
	require.Len(t, cs, 3, "three replicas, as before the canary")
	for _, c := range cs {
		assert.Equal(t, image(imgV2), c.Image)
		assert.Equal(t, "running", c.State)
	}
	assert.NotContains(t, svc.routeFile(t), "weighted")
}
