package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/timeline"
)

// logEvent is one JSON log line dswap writes to stderr.
type logEvent struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Msg   string    `json:"msg"`
	Phase string    `json:"phase"`
}

// dswapRun is one finished run of the dswap binary.
type dswapRun struct {
	Start, End time.Time
	Result     server.Outcome
	Events     []logEvent
	ExitCode   int
	MaxRSS     int64 // bytes
	CPU        time.Duration
	Stderr     string
}

// runDswap runs the dswap binary with args and env and reads back its
// events, its result (when wantResult: only `up` prints one) and, from the
// kernel's accounting of the exited process, its peak resident memory and
// CPU time. A non-zero exit is not an error here: the caller reads
// ExitCode and Result.
func runDswap(ctx context.Context, bin string, env []string, wantResult bool, args ...string) (*dswapRun, error) {
	var stdout, stderr bytes.Buffer
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the benchmark's own binary: %w", err)
	}
	usageFile, err := os.CreateTemp("", "dswap-usage-*.json")
	if err != nil {
		return nil, err
	}
	usageFile.Close()
	defer os.Remove(usageFile.Name())
	cmd := exec.CommandContext(ctx, self, append([]string{SpawnArg, usageFile.Name(), bin}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	run := &dswapRun{Start: time.Now()}
	err = cmd.Run()
	run.End = time.Now()
	run.Stderr = stderr.String()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("running %s %s: %w", bin, strings.Join(args, " "), err)
	}
	if cmd.ProcessState != nil {
		run.ExitCode = cmd.ProcessState.ExitCode()
		if u, err := readUsage(usageFile.Name()); err == nil {
			run.MaxRSS, run.CPU = u.MaxRSS, u.CPU
		}
	}
	run.Result, run.Events, err = parseDswapOutput(stdout.Bytes(), stderr.Bytes())
	if err != nil && wantResult {
		return nil, fmt.Errorf("reading the output of %s %s (exit code %d): %w\nstderr:\n%s", bin, strings.Join(args, " "), run.ExitCode, err, tail(run.Stderr, 20))
	}
	return run, nil
}

// parseDswapOutput reads the last JSON object on stdout as the result and
// every JSON line on stderr as an event; other stderr lines are skipped.
func parseDswapOutput(stdout, stderr []byte) (server.Outcome, []logEvent, error) {
	var res server.Outcome
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return res, nil, errors.New("no JSON result on stdout")
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		return res, nil, fmt.Errorf("the last stdout line is not the JSON result: %w: %q", err, last)
	}
	var events []logEvent
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ev logEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			continue
		}
		events = append(events, ev)
	}
	return res, events, sc.Err()
}

// dswapMarks picks the phase boundaries of a swap from dswap's events, and
// the moment dswap decided the new container was ready. When a message is
// missing (another dswap version words it differently) the entry into the
// next phase stands in for it.
func dswapMarks(events []logEvent) (marks []timeline.Mark, healthyAt time.Time) {
	first := func(match func(logEvent) bool) time.Time {
		for _, ev := range events {
			if match(ev) {
				return ev.Time
			}
		}
		return time.Time{}
	}
	msg := func(m string) func(logEvent) bool { return func(ev logEvent) bool { return ev.Msg == m } }
	phase := func(p string) func(logEvent) bool { return func(ev logEvent) bool { return ev.Phase == p } }
	either := func(a, b time.Time) time.Time {
		if a.IsZero() {
			return b
		}
		return a
	}
	healthyAt = either(first(msg("healthy")), first(phase("flip")))
	for _, m := range []timeline.Mark{
		{Name: "created", At: first(msg("created"))},
		{Name: "healthy", At: healthyAt},
		{Name: "flipped", At: either(first(msg("traffic on new")), first(phase("drain")))},
		{Name: "SIGTERM old", At: first(phase("drain"))},
		{Name: "old exited", At: first(msg("stopped"))},
		{Name: "removed", At: first(phase("done"))},
	} {
		if !m.At.IsZero() {
			marks = append(marks, m)
		}
	}
	return marks, healthyAt
}

// tail returns the last n lines of s, for error messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
