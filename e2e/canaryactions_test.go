package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGitHubActionsCanaryFailure: a canary that fails under GitHub
// Actions ends its step with an error annotation that leads with the
// figures that failed, and a step summary with the steps' table.
func TestGitHubActionsCanaryFailure(t *testing.T) {
	svc := startService(t, "ghacanary", serviceOpts{})
	env, summary := actionsEnv(t)
	ld := svc.load(t, 4, "")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"), "load never reached v1 through Traefik")
	run := runDswapEnv(t, env, "up", image(imgFailing), "--service", svc.name, "--canary", "5%,50%", "--step", "20s", "--max-error-rate", "1%", "--drain", "5s")
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	require.Equal(t, 1, run.code, "a failed canary fails the step:\n%s", run.stderr)

	cmds := workflowCommands(run.stderr)
	require.NotEmpty(t, cmds)
	annotation := cmds[len(cmds)-1]
	assert.Regexp(t, `^::error title=dswap%3A canary of `+svc.name+` failed at 5%25::error rate [0-9.]+%25 \([0-9]+ of [0-9]+\) > 1%25 at 5%25%0A`, annotation)
	assert.Contains(t, cmds, "::group::dswap: canary")

	got, err := os.ReadFile(summary)
	require.NoError(t, err)
	md := string(got)
	assert.Contains(t, md, "### ❌ dswap: "+svc.name+" canary failed at 5% and was taken out: the old version keeps serving")
	assert.Contains(t, md, "| step | weight | requests | errors | p99 (old) | verdict | figures |")
	assert.Regexp(t, `\| 1 \| 5% \| [0-9]+ \| [0-9]+ \| [^|]* \| ❌ fail \| error rate [0-9.]+% \([0-9]+ of [0-9]+\) &gt; 1% at 5% \|`, md)
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))
}

// TestGitHubActionPausesACanary: action.yml's canary and pause inputs
// reach dswap; the step ends successfully with the result paused, and the
// route is split until dswap abort.
func TestGitHubActionPausesACanary(t *testing.T) {
	svc := startService(t, "ghapause", serviceOpts{})
	code, out, outputs := runAction(t, map[string]string{"image": image(imgV2), "service": svc.name, "canary": "10%", "pause": "true", "sticky": "true", "drain": "2s"})
	require.Equal(t, 0, code, out)
	assert.Equal(t, "paused", outputs["result"])
	assertPaused(t, svc)
	assert.True(t, strings.Contains(svc.routeFile(t), "sticky=true"), "the sticky input reached dswap")

	abort := runDswap(t, "abort", svc.name, "--drain", "2s")
	require.Equal(t, 0, abort.code, abort.stderr)
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))
}
