package ghactions

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

func TestEscapeWorkflowCommands(t *testing.T) {
	assert.Equal(t, "100%25 done%0Anext line%0D%0Aend", escapeData("100% done\nnext line\r\nend"))
	assert.Equal(t, "a: b, c", escapeData("a: b, c"), "the message may hold : and ,")
	assert.Equal(t, "dswap%3A swap of web%2C api 50%25%0A", escapeProperty("dswap: swap of web, api 50%\n"))
	// %0A must not be read back as a newline: the % is escaped first.
	assert.Equal(t, "%250A", escapeData("%0A"))
}

func TestNewActionsReportOnlyUnderActions(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	assert.Nil(t, New(getenv, &bytes.Buffer{}))
	env["GITHUB_ACTIONS"] = "false"
	assert.Nil(t, New(getenv, &bytes.Buffer{}))
	env["GITHUB_ACTIONS"] = "true"
	assert.NotNil(t, New(getenv, &bytes.Buffer{}))

	// A nil report changes nothing and does not panic.
	var a *Report
	log := slog.New(slog.DiscardHandler)
	assert.Same(t, log, a.Wrap(log))
	a.Finish(server.Outcome{})
}

func TestActionsGroupsPerPhaseAndAnnotatesAFailure(t *testing.T) {
	var w bytes.Buffer
	summary := filepath.Join(t.TempDir(), "summary.md")
	require.NoError(t, os.WriteFile(summary, []byte("earlier step\n"), 0o644))
	a := New(func(k string) string {
		return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}[k]
	}, &w)
	log := a.Wrap(slog.New(slog.NewTextHandler(&w, nil)))
	log.Info("planning", "phase", "plan", "image", "myapp:v2")
	log.Info("service", "phase", "plan", "name", "web")
	log.Info("pulling", "layer", "abc") // no phase: stays in the open group
	log.With("phase", "health").Info("starting")
	log.Info("undoing the swap", "phase", "rollback", "reason", "unhealthy")
	a.Finish(server.Outcome{Result: "failed", ExitCode: 1, Service: "web", To: "myapp:v2", Phase: "health",
		Error: "swap of web failed during health: 100% unhealthy", Kept: "myapp:v1 (web) keeps serving, unchanged", Details: "new container web-2: running\nlast log lines:\n  boom"})
	a.Finish(server.Outcome{Result: "swapped"}) // only the first counts

	var commands []string
	for _, l := range strings.Split(w.String(), "\n") {
		if strings.HasPrefix(l, "::") {
			commands = append(commands, l)
		}
	}
	assert.Equal(t, []string{
		"::group::dswap: plan", "::endgroup::",
		"::group::dswap: health", "::endgroup::",
		"::group::dswap: rollback", "::endgroup::",
		"::error title=dswap%3A swap of web failed::swap of web failed during health: 100%25 unhealthy%0Amyapp:v1 (web) keeps serving, unchanged%0Anew container web-2: running%0Alast log lines:%0A  boom",
	}, commands)
	assert.Contains(t, w.String(), "::group::dswap: plan\n")
	lines := strings.Split(w.String(), "\n")
	assert.Contains(t, lines[1], "planning", "the record follows its group's start")

	got, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(got), "earlier step\n### ❌ dswap: web failed during health and was rolled back"), "appended, not overwritten:\n%s", got)
}

func TestRenderSummary(t *testing.T) {
	ok := renderSummary(server.Outcome{Result: "swapped", Service: "web", From: "myapp:v1", To: "myapp:v2", Old: []string{"web"}, New: []string{"web-2"},
		HealthySeconds: 1.234, RoutedAfterHealthy: 0.131, TotalSeconds: 11.5, Readiness: "dswap's probe of the HEALTHCHECK test"})
	assert.Equal(t, `### ✅ dswap: web swapped

| | |
|---|---|
| service | web |
| from | myapp:v1 (web) |
| to | myapp:v2 (web-2) |
| result | swapped |
| exit code | 0 |
| healthy after | 1.23s |
| traffic moved after healthy | 0.13s |
| total | 11.50s |
| readiness | dswap&#39;s probe of the HEALTHCHECK test |

`, ok)

	failed := renderSummary(server.Outcome{Result: "failed", ExitCode: 1, Service: "web", To: "myapp:v2", Phase: "health",
		Error: "a | b <script>", Kept: "myapp:v1 keeps serving", Details: "last log lines:\n  <html>"})
	assert.Contains(t, failed, "### ❌ dswap: web failed during health and was rolled back: the old version keeps serving")
	assert.Contains(t, failed, "| error | a \\| b &lt;script&gt; |", "cells are one safe line")
	assert.NotContains(t, failed, "healthy after", "no timings for a swap that did not happen")
	assert.Contains(t, failed, "<pre>last log lines:\n  &lt;html&gt;</pre>")

	withTasks := renderSummary(server.Outcome{Result: "swapped", Service: "web", To: "myapp:v2", Tasks: []server.TaskOutcome{
		{Stage: "pre", Command: "php artisan migrate --force", Seconds: 2.5, Output: []string{"Migrating: 2024_01_01 <users>", "Migrated"}},
		{Stage: "post", Command: `["/app","warm"]`, ExitCode: -1, Seconds: 3, Failure: "ran past its timeout of 3s (--task-timeout) and was stopped"},
	}})
	assert.Contains(t, withTasks, "\n<details><summary>✅ pre task <code>php artisan migrate --force</code>: exit 0 in 2.50s</summary>\n\n<pre>Migrating: 2024_01_01 &lt;users&gt;\nMigrated</pre>\n</details>\n",
		"each task collapsed, its output inside, HTML inert")
	assert.Contains(t, withTasks, "<details><summary>❌ post task <code>[&#34;/app&#34;,&#34;warm&#34;]</code>: ran past its timeout of 3s (--task-timeout) and was stopped after 3.00s</summary>\n\n<pre>(no output)</pre>")
	assert.NotContains(t, withTasks, "<details open", "collapsed")

	postReport := renderSummary(server.Outcome{Result: "failed", ExitCode: 1, Service: "web", Phase: "post",
		Kept: "myapp:v2 (web-2) serve: the new version stays (--post-failure report; --post-failure rollback would move traffic back)"})
	assert.Contains(t, postReport, "### ❌ dswap: web failed during post: the new version keeps serving", "a post task failing under report rolls nothing back")

	errored := renderSummary(server.Outcome{Result: "error", ExitCode: 3, Error: "another dswap is working on web"})
	assert.Contains(t, errored, "### ❌ dswap: service did not run (exit code 3)")
}

func TestGroupHandlerKeepsOtherHandlersWorking(t *testing.T) {
	var w bytes.Buffer
	a := &Report{w: &w}
	log := a.Wrap(slog.New(slog.NewJSONHandler(&w, nil)))
	log.WithGroup("g").Info("x", "phase", "plan")
	assert.Contains(t, w.String(), "::group::dswap: plan\n{")
	assert.True(t, log.Handler().Enabled(context.Background(), slog.LevelInfo))
}

func TestCanaryInTheSummaryAndTheAnnotation(t *testing.T) {
	failed := server.Outcome{Result: "failed", ExitCode: 1, Service: "web", From: "myapp:v1", To: "myapp:v2", Phase: "canary",
		Error: "swap of web failed during canary: error rate 19.6% (98 of 500) > 1% at 5%", Kept: "myapp:v1 (web) keeps serving",
		Canary: []swap.CanaryStep{{Weight: 5, Requests: 500, Errors: 98, P99: "120ms", StableP99: "80ms", Verdict: "fail", Reason: "error rate 19.6% (98 of 500) > 1% at 5%"}}}
	sum := renderSummary(failed)
	assert.Contains(t, sum, "### ❌ dswap: web canary failed at 5% and was taken out: the old version keeps serving")
	assert.Contains(t, sum, "| step | weight | requests | errors | p99 (old) | verdict | figures |")
	assert.Contains(t, sum, "| 1 | 5% | 500 | 98 | 120ms (80ms) | ❌ fail | error rate 19.6% (98 of 500) &gt; 1% at 5% |")
	ann := errorAnnotation(failed)
	assert.Equal(t, "::error title=dswap%3A canary of web failed at 5%25::error rate 19.6%25 (98 of 500) > 1%25 at 5%25%0Amyapp:v1 (web) keeps serving", ann,
		"the figures that failed, then what keeps serving")

	warned := renderSummary(server.Outcome{Result: "swapped", Service: "web", To: "myapp:v2", Canary: []swap.CanaryStep{
		{Weight: 5, Requests: 120, Verdict: "pass", Reason: "error rate 0% (0 of 120), p99 90ms at 5%"},
		{Weight: 50, Requests: 30, Verdict: "pass", Warning: "only 30 request(s) reached the new version at 50%, fewer than --min-requests 50 after 15s: passed unjudged"},
	}})
	assert.Contains(t, warned, "| 1 | 5% | 120 | 0 |  | ✅ pass | error rate 0% (0 of 120), p99 90ms at 5% |")
	assert.Contains(t, warned, "| 2 | 50% | 30 | 0 |  | ⚠️ pass, unjudged | only 30 request(s)")

	paused := renderSummary(server.Outcome{Result: "paused", Service: "web", To: "myapp:v2", Paused: "paused at 10%: dswap promote web goes on, dswap abort web goes back",
		Canary: []swap.CanaryStep{{Weight: 10, Verdict: "paused"}}})
	assert.Contains(t, paused, "### ⏸️ dswap: web paused its canary: paused at 10%")
}
