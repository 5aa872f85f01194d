package ghactions

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

// Report shows a swap the way GitHub Actions presents a step, when
// dswap runs under GITHUB_ACTIONS=true: one collapsible group of log lines
// per phase (::group::), an error annotation with the reason when the swap
// fails (::error::), and a Markdown summary of the swap appended to
// $GITHUB_STEP_SUMMARY. Workflow commands go to stderr with the progress
// lines, in order; the runner reads them from both streams, and stdout
// keeps the final line (or JSON object) for whoever parses it.
//
// A nil *Report (not under Actions) does nothing.
type Report struct {
	w       io.Writer
	summary string // path of the step summary file; "" for none

	mu    sync.Mutex
	group string // the open group's phase
	done  bool
}

// New returns a report when GITHUB_ACTIONS is "true".
func New(getenv func(string) string, w io.Writer) *Report {
	if getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	return &Report{w: w, summary: getenv("GITHUB_STEP_SUMMARY")}
}

// Wrap returns log with phase groups around its records.
func (a *Report) Wrap(log *slog.Logger) *slog.Logger {
	if a == nil {
		return log
	}
	return slog.New(&groupHandler{a: a, next: log.Handler()})
}

// enter opens the group of a phase, closing the previous one.
func (a *Report) enter(phase string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if phase == a.group || a.done {
		return
	}
	if a.group != "" {
		fmt.Fprintln(a.w, "::endgroup::")
	}
	fmt.Fprintf(a.w, "::group::dswap: %s\n", escapeData(phase))
	a.group = phase
}

// Finish closes the open group, annotates a failure and writes the step
// summary. Only the first call counts.
func (a *Report) Finish(out server.Outcome) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	if a.group != "" {
		fmt.Fprintln(a.w, "::endgroup::")
		a.group = ""
	}
	if !out.Succeeded() {
		fmt.Fprintln(a.w, errorAnnotation(out))
	}
	if a.summary == "" {
		return
	}
	f, err := os.OpenFile(a.summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = io.WriteString(f, renderSummary(out))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(a.w, "::warning title=dswap::%s\n", escapeData("could not write the step summary: "+err.Error()))
	}
}

// Finished reports whether Finish has run (always, for a nil report).
func (a *Report) Finished() bool {
	if a == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done
}

// groupHandler opens a phase's group before the first record of the phase.
type groupHandler struct {
	a     *Report
	next  slog.Handler
	phase string // from WithAttrs
}

func (h *groupHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *groupHandler) Handle(ctx context.Context, r slog.Record) error {
	phase := h.phase
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "phase" {
			phase = a.Value.String()
			return false
		}
		return true
	})
	if phase != "" {
		h.a.enter(phase)
	}
	return h.next.Handle(ctx, r)
}

func (h *groupHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	for _, a := range attrs {
		if a.Key == "phase" {
			c.phase = a.Value.String()
		}
	}
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *groupHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// errorAnnotation renders the ::error:: command for a failed swap: the
// reason, what keeps serving, and the failed container's details.
func errorAnnotation(out server.Outcome) string {
	title := "dswap: swap failed"
	if out.Service != "" {
		title = fmt.Sprintf("dswap: swap of %s %s", out.Service, out.Result)
	}
	msg := out.Error
	if msg == "" {
		msg = "the swap did not succeed (result " + out.Result + ")"
	}
	if step, ok := failedStep(out); ok {
		// The figures that failed come first: they are the reason.
		title = fmt.Sprintf("dswap: canary of %s failed at %d%%", out.Service, step.Weight)
		if !strings.Contains(msg, step.Reason) {
			msg = step.Reason + "\n" + msg
		} else {
			msg = step.Reason
		}
	}
	if out.Kept != "" {
		msg += "\n" + out.Kept
	}
	if out.Details != "" {
		msg += "\n" + limitLines(out.Details, 30)
	}
	return fmt.Sprintf("::error title=%s::%s", escapeProperty(title), escapeData(msg))
}

func limitLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n… %d more lines in the log", len(lines)-n)
}

// escapeData escapes a workflow command's message as the runner
// unescapes it: %, CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value: the data
// escapes, and : and , which delimit properties.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// renderSummary is the Markdown a swap adds to the job's summary page.
func renderSummary(out server.Outcome) string {
	var b strings.Builder
	icon, verdict := "✅", "swapped"
	switch out.Result {
	case "noop":
		icon, verdict = "✅", "already running it; nothing swapped"
	case "failed":
		icon, verdict = "❌", "failed during "+out.Phase+" and was rolled back: the old version keeps serving"
		if out.Phase == "post" && strings.Contains(out.Kept, "the new version stays") {
			// --post-failure report: traffic stayed on the new version.
			verdict = "failed during post: the new version keeps serving"
		}
	case "error":
		icon, verdict = "❌", fmt.Sprintf("did not run (exit code %d)", out.ExitCode)
	case "paused":
		icon, verdict = "⏸️", "paused its canary: "+out.Paused
	}
	if step, ok := failedStep(out); ok {
		verdict = fmt.Sprintf("canary failed at %d%% and was taken out: the old version keeps serving", step.Weight)
	}
	service := out.Service
	if service == "" {
		service = "service"
	}
	fmt.Fprintf(&b, "### %s dswap: %s %s\n\n", icon, cell(service), verdict)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, cell(v))
		}
	}
	row("service", out.Service)
	row("from", withContainers(out.From, out.Old))
	row("to", withContainers(out.To, out.New))
	row("result", out.Result)
	row("exit code", fmt.Sprint(out.ExitCode))
	if out.Result == "swapped" {
		row("healthy after", fmt.Sprintf("%.2fs", out.HealthySeconds))
		row("traffic moved after healthy", fmt.Sprintf("%.2fs", out.RoutedAfterHealthy))
		row("total", fmt.Sprintf("%.2fs", out.TotalSeconds))
	}
	row("readiness", out.Readiness)
	row("error", out.Error)
	row("kept", out.Kept)
	if out.Details != "" {
		fmt.Fprintf(&b, "\n<details><summary>new container's state, health checks and last log lines</summary>\n\n<pre>%s</pre>\n</details>\n", html.EscapeString(out.Details))
	}
	writeCanary(&b, out.Canary)
	writeTasks(&b, out.Tasks)
	b.WriteString("\n")
	return b.String()
}

// failedStep is the canary step that failed the swap, if one did.
func failedStep(out server.Outcome) (swap.CanaryStep, bool) {
	for _, step := range out.Canary {
		if step.Verdict == "fail" {
			return step, true
		}
	}
	return swap.CanaryStep{}, false
}

// writeCanary renders the canary's steps as a table: weight, what the new
// version got, the verdict and the figures it was judged on.
func writeCanary(b *strings.Builder, steps []swap.CanaryStep) {
	if len(steps) == 0 {
		return
	}
	b.WriteString("\n#### Canary\n\n| step | weight | requests | errors | p99 (old) | verdict | figures |\n|---|---|---|---|---|---|---|\n")
	for i, st := range steps {
		icon := map[string]string{"pass": "✅", "fail": "❌", "paused": "⏸️"}[st.Verdict]
		verdict := icon + " " + st.Verdict
		if st.Warning != "" {
			verdict = "⚠️ pass, unjudged"
		}
		p99 := st.P99
		if st.StableP99 != "" {
			p99 += " (" + st.StableP99 + ")"
		}
		figures := st.Reason
		if st.Warning != "" {
			figures = st.Warning
		}
		fmt.Fprintf(b, "| %d | %d%% | %d | %d | %s | %s | %s |\n", i+1, st.Weight, st.Requests, st.Errors, cell(p99), verdict, cell(figures))
	}
}

// writeTasks renders each release task as a collapsed section: how it
// ended in the summary line, its last output lines inside (the whole
// output is in the step's log, in the task's phase group).
func writeTasks(b *strings.Builder, tasks []server.TaskOutcome) {
	for _, t := range tasks {
		icon, how := "✅", fmt.Sprintf("exit 0 in %.2fs", t.Seconds)
		if t.Failure != "" {
			icon, how = "❌", fmt.Sprintf("%s after %.2fs", t.Failure, t.Seconds)
		}
		fmt.Fprintf(b, "\n<details><summary>%s %s task <code>%s</code>: %s</summary>\n\n", icon, html.EscapeString(t.Stage), html.EscapeString(t.Command), html.EscapeString(how))
		if len(t.Output) == 0 {
			b.WriteString("<pre>(no output)</pre>\n</details>\n")
			continue
		}
		fmt.Fprintf(b, "<pre>%s</pre>\n</details>\n", html.EscapeString(strings.Join(t.Output, "\n")))
	}
}

func withContainers(image string, containers []string) string {
	if image == "" {
		return ""
	}
	if len(containers) == 0 {
		return image
	}
	return fmt.Sprintf("%s (%s)", image, strings.Join(containers, ", "))
}

// cell makes text safe in a Markdown table cell: HTML inert, pipes
// escaped, line breaks as <br>.
func cell(s string) string {
	s = html.EscapeString(strings.TrimSpace(s))
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "<br>")
}
