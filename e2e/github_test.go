package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
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

// actionStep is one step of action.yml.
type actionStep struct {
	Name string            `yaml:"name"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

// runAction runs action.yml's steps the way a runner does (bash -e -o
// pipefail on each step's script, ${{ inputs.* }} filled in, GITHUB_ENV
// carried between steps) and returns the last step's exit code, its
// output and the step outputs.
func runAction(t *testing.T, inputs map[string]string) (int, string, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile("../action.yml")
	require.NoError(t, err)
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string       `yaml:"using"`
			Steps []actionStep `yaml:"steps"`
		} `yaml:"runs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &action))
	require.Equal(t, "composite", action.Runs.Using)
	for k := range inputs {
		require.Contains(t, action.Inputs, k, "action.yml has no input %s", k)
	}
	expr := regexp.MustCompile(`\$\{\{\s*inputs\.([a-z0-9-]+)\s*\}\}`)
	fill := func(s string) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			name := expr.FindStringSubmatch(m)[1]
			if v, ok := inputs[name]; ok {
				return v
			}
			return action.Inputs[name].Default
		})
	}

	dir := t.TempDir()
	files := map[string]string{}
	for _, f := range []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		files[f] = filepath.Join(dir, f)
		require.NoError(t, os.WriteFile(files[f], nil, 0o644))
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	env := withEnv(os.Environ(),
		"PATH="+filepath.Dir(suite.dswap)+":"+os.Getenv("PATH"), // dswap on PATH, as on a prepared runner
		"GITHUB_ACTIONS=true", "GITHUB_ACTION_PATH="+root, "RUNNER_TEMP="+dir,
		"GITHUB_ENV="+files["GITHUB_ENV"], "GITHUB_OUTPUT="+files["GITHUB_OUTPUT"], "GITHUB_STEP_SUMMARY="+files["GITHUB_STEP_SUMMARY"],
		"DSWAP_ROUTES_DIR="+suite.lab.RoutesDir, "DSWAP_TRAEFIK_API="+suite.lab.APIURL, "DSWAP_TRAEFIK_CONTAINER="+suite.lab.TraefikName, "DSWAP_HOST=")
	var code int
	var out string
	for i, step := range action.Runs.Steps {
		stepEnv := env
		b, err := os.ReadFile(files["GITHUB_ENV"])
		require.NoError(t, err)
		stepEnv = withEnv(stepEnv, strings.Fields(string(b))...)
		for k, v := range step.Env {
			stepEnv = append(stepEnv, k+"="+fill(v))
		}
		script := filepath.Join(dir, fmt.Sprintf("step%d.sh", i))
		require.NoError(t, os.WriteFile(script, []byte(fill(step.Run)), 0o755))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", script)
		cmd.Env = stepEnv
		o, err := cmd.CombinedOutput()
		cancel()
		out = string(o)
		code = 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		t.Logf("step %q exit %d:\n%s", step.Name, code, out)
		if code != 0 {
			break
		}
	}
	outputs := map[string]string{}
	b, err := os.ReadFile(files["GITHUB_OUTPUT"])
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			outputs[k] = v
		}
	}
	return code, out, outputs
}

func TestActionStep(t *testing.T) {
	svc := startService(t, "action", serviceOpts{})

	code, out, outputs := runAction(t, map[string]string{"image": image(imgNeverHealthy), "service": svc.name, "health-timeout": "5s"})
	assert.Equal(t, 1, code, "a failed swap fails the job")
	assert.Equal(t, map[string]string{"result": "failed", "exit-code": "1"}, outputs)
	assert.Contains(t, out, "::error title=dswap%3A swap of "+svc.name+" failed::")

	code, out, outputs = runAction(t, map[string]string{"image": image(imgV2), "service": svc.name, "drain": "2s", "output": "json"})
	assert.Equal(t, 0, code, out)
	assert.Equal(t, map[string]string{"result": "swapped", "exit-code": "0"}, outputs)
	cs := svc.containers(t)
	require.Len(t, cs, 1)
	assert.Equal(t, image(imgV2), cs[0].Image)

	code, out, _ = runAction(t, map[string]string{"service": svc.name})
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "::error title=dswap::image is required")
}
