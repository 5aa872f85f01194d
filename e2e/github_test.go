package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dswap up as a GitHub Actions step: GITHUB_ACTIONS=true and a step
// summary file, as the runner sets them.

// actionsEnv returns the runner's variables with a fresh summary file that
// already holds an earlier step's summary.
func actionsEnv(t *testing.T) ([]string, string) {
	t.Helper()
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	require.NoError(t, os.WriteFile(summary, []byte("## earlier step\n"), 0o644))
	return []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary, "DSWAP_HOST="}, summary
}

// workflowCommands returns the ::command:: lines of an output.
func workflowCommands(out string) []string {
	var cmds []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "::") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

func TestGitHubActionsSuccessfulSwap(t *testing.T) {
	svc := startService(t, "gha", serviceOpts{})
	env, summary := actionsEnv(t)
	run := runDswapEnv(t, env, "up", image(imgV2), "--service", svc.name, "--drain", "2s")
	require.Equal(t, 0, run.code, run.stderr)

	assert.Equal(t, []string{
		"::group::dswap: plan", "::endgroup::",
		"::group::dswap: create", "::endgroup::",
		"::group::dswap: health", "::endgroup::",
		"::group::dswap: flip", "::endgroup::",
		"::group::dswap: drain", "::endgroup::",
		"::group::dswap: remove", "::endgroup::",
		"::group::dswap: done", "::endgroup::",
	}, workflowCommands(run.stderr), "one group per phase, no annotation")
	assert.Regexp(t, `(?m)^::group::dswap: health\n +\d+\.\d+s  health   starting and waiting for health`, run.stderr, "the progress lines sit in their phase's group")
	assert.Empty(t, workflowCommands(run.stdout), "stdout keeps the final line alone")
	assert.Contains(t, run.stdout, "dswap: "+svc.name+" now runs "+image(imgV2))

	got, err := os.ReadFile(summary)
	require.NoError(t, err)
	md := string(got)
	assert.True(t, strings.HasPrefix(md, "## earlier step\n### ✅ dswap: "+svc.name+" swapped\n"), "appended to the job's summary:\n%s", md)
	for _, row := range []string{
		"| service | " + svc.name + " |",
		"| from | " + image(imgV1) + " (" + svc.name + ") |",
		"| result | swapped |",
		"| exit code | 0 |",
		"| readiness | dswap ran the container",
	} {
		assert.Contains(t, md, row)
	}
	assert.Regexp(t, regexp.MustCompile(`\| to \| `+regexp.QuoteMeta(image(imgV2))+` \(`+regexp.QuoteMeta(svc.name)+`-\w+\) \|`), md)
	for _, timing := range []string{"healthy after", "traffic moved after healthy", "total"} {
		assert.Regexp(t, `\| `+timing+` \| \d+\.\d\ds \|`, md)
	}
}

func TestGitHubActionsFailedSwap(t *testing.T) {
	svc := startService(t, "ghafail", serviceOpts{})
	routeBefore := svc.routeFile(t)
	env, summary := actionsEnv(t)
	run := runDswapEnv(t, env, "up", image(imgNeverHealthy), "--service", svc.name, "--health-timeout", "5s")
	require.Equal(t, 1, run.code, "a failed swap fails the step:\n%s", run.stderr)

	cmds := workflowCommands(run.stderr)
	require.NotEmpty(t, cmds)
	annotation := cmds[len(cmds)-1]
	assert.Equal(t, 1, strings.Count(run.stderr, "::error"), "one annotation")
	assert.True(t, strings.HasPrefix(annotation, "::error title=dswap%3A swap of "+svc.name+" failed::swap of "+svc.name+" failed during health: "), annotation)
	assert.Contains(t, annotation, "%0A"+image(imgV1)+" ("+svc.name+") keeps serving, unchanged%0A", "what still serves, on its own line")
	assert.Contains(t, annotation, "health checks (oldest first):")
	assert.NotContains(t, annotation, "\r")
	assert.Contains(t, cmds, "::group::dswap: rollback")
	assert.Equal(t, "::endgroup::", cmds[len(cmds)-2], "groups are closed before the annotation")

	got, err := os.ReadFile(summary)
	require.NoError(t, err)
	md := string(got)
	assert.Contains(t, md, "### ❌ dswap: "+svc.name+" failed during health and was rolled back: the old version keeps serving")
	assert.Contains(t, md, "| result | failed |")
	assert.Contains(t, md, "| exit code | 1 |")
	assert.Contains(t, md, "| kept | "+image(imgV1)+" ("+svc.name+") keeps serving, unchanged |")
	assert.Contains(t, md, "<details><summary>")
	assert.NotContains(t, md, "healthy after")

	// The annotation reports; the swap itself rolled back as always.
	assert.Equal(t, routeBefore, svc.routeFile(t))
	cs := svc.containers(t)
	require.Len(t, cs, 1)
	assert.Equal(t, image(imgV1), cs[0].Image)
}
