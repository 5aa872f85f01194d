// Package server is dswap as a long-running sidecar: an HTTP API to swap,
// roll back and inspect services and to follow a swap as it happens,
// webhooks from registries and GitHub, optional polling of a tag, and a
// keeper that puts routes right after Docker events. It also holds the
// client `dswap up` uses to hand a swap to a running sidecar.
package server

import (
	"context"
	"errors"
	"time"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// Exit codes of a swap, as the dswap CLI exits with them (see README.md).
// The final object of a swap carries one so that a client of the API, and
// `dswap up` talking to a sidecar, end the way a local swap would.
const (
	ExitOK        = 0 // traffic is on the new version (or nothing to do)
	ExitFailed    = 1 // the swap failed and was rolled back; the old version serves
	ExitBadInput  = 2 // nothing was changed: fix the request, labels or setup
	ExitLocked    = 3 // another swap of the service holds its lock
	ExitInternal  = 4 // anything else, e.g. the Engine failed mid-way
	resultSwapped = "swapped"
	resultNoop    = "noop"
	resultFailed  = "failed"
	resultError   = "error"
)

// ExitCode classifies the error of a swap as the CLI does.
func ExitCode(err error) int {
	var failed *swap.FailedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &failed), errors.Is(err, context.Canceled):
		return ExitFailed
	case errors.Is(err, lock.ErrHeld):
		return ExitLocked
	case errors.Is(err, swap.ErrBadInput):
		return ExitBadInput
	default:
		return ExitInternal
	}
}

// Outcome is the final object of a swap or rollback: the last line of
// `dswap up --output json`, the body of a synchronous API swap, and the
// last object of a swap's event stream.
type Outcome struct {
	// ID is the sidecar's id of the swap; empty for a local run.
	ID                 string   `json:"id,omitempty"`
	Result             string   `json:"result"` // swapped, noop, failed, error
	ExitCode           int      `json:"exit_code"`
	Service            string   `json:"service,omitempty"`
	From               string   `json:"from,omitempty"`
	To                 string   `json:"to,omitempty"`
	Old                []string `json:"old,omitempty"`
	New                []string `json:"new,omitempty"`
	HealthySeconds     float64  `json:"healthy_seconds,omitempty"`
	RoutedAfterHealthy float64  `json:"routed_after_healthy_seconds,omitempty"`
	TotalSeconds       float64  `json:"total_seconds,omitempty"`
	Readiness          string   `json:"readiness,omitempty"`
	Error              string   `json:"error,omitempty"`
	Phase              string   `json:"failed_phase,omitempty"`
	Kept               string   `json:"kept,omitempty"`
	Details            string   `json:"details,omitempty"`
	// Lingering are the old containers left running, unrouted, while they
	// hold open connections (keep-connections).
	Lingering []string `json:"lingering,omitempty"`
	// Canary lists the canary steps with their figures and verdicts.
	Canary []swap.CanaryStep `json:"canary,omitempty"`
	// Paused is set when a --pause canary stopped at its last weight
	// (result "paused"): what runs, and what to run next.
	Paused string `json:"paused,omitempty"`
	// Tasks are the release tasks run, in order, with their last output
	// lines (the whole output is in the event stream).
	Tasks []TaskOutcome `json:"tasks,omitempty"`
}

// TaskOutcome is how one release task ended.
type TaskOutcome struct {
	Stage    string  `json:"stage"` // pre or post
	Command  string  `json:"command"`
	ExitCode int     `json:"exit_code"` // -1 when it did not exit by itself (stopped, or never started)
	Seconds  float64 `json:"seconds"`
	// Failure says why it failed; empty when it exited 0.
	Failure string   `json:"failure,omitempty"`
	Output  []string `json:"output,omitempty"`
}

// NewOutcome describes a finished swap.
func NewOutcome(res *swap.Result, err error) Outcome {
	out := Outcome{Result: resultSwapped, ExitCode: ExitCode(err)}
	if res != nil {
		out.Service, out.From, out.To = res.Service, res.FromImage, res.ToImage
		out.Old, out.New = res.Old, res.New
		out.HealthySeconds = res.HealthyAfter.Seconds()
		out.RoutedAfterHealthy = res.RoutedAfterHealthy.Seconds()
		out.TotalSeconds = res.Total.Seconds()
		out.Readiness = res.Readiness
		for _, l := range res.Lingering {
			out.Lingering = append(out.Lingering, l.Container)
		}
		out.Canary = res.Canary
		for _, t := range res.Tasks {
			out.Tasks = append(out.Tasks, TaskOutcome{Stage: t.Stage, Command: t.Command, ExitCode: t.ExitCode, Seconds: t.Took.Seconds(), Failure: t.Failure, Output: t.Output})
		}
		if res.Noop {
			out.Result = resultNoop
		}
		if res.Paused != "" {
			out.Result, out.Paused = "paused", res.Paused
		}
	}
	var failed *swap.FailedError
	switch {
	case errors.As(err, &failed):
		out.Result, out.Error, out.Phase, out.Kept, out.Details = resultFailed, failed.Error(), failed.Phase.String(), failed.Kept, failed.Details()
		out.Service = failed.Service
	case err != nil:
		out.Result, out.Error = resultError, err.Error()
	}
	return out
}

// Succeeded says whether traffic is where it was asked to be.
func (o Outcome) Succeeded() bool { return o.ExitCode == ExitOK }

// SwapResult rebuilds the part of a swap's result that the CLI prints,
// for a swap that ran in a sidecar.
func (o Outcome) SwapResult() *swap.Result {
	var tasks []swap.TaskResult
	for _, t := range o.Tasks {
		tasks = append(tasks, swap.TaskResult{Stage: t.Stage, Command: t.Command, ExitCode: t.ExitCode, Took: seconds(t.Seconds), Failure: t.Failure, Output: t.Output})
	}
	return &swap.Result{
		Tasks:   tasks,
		Service: o.Service, FromImage: o.From, ToImage: o.To, Old: o.Old, New: o.New,
		Readiness:          o.Readiness,
		HealthyAfter:       seconds(o.HealthySeconds),
		RoutedAfterHealthy: seconds(o.RoutedAfterHealthy),
		Total:              seconds(o.TotalSeconds),
		Noop:               o.Result == resultNoop,
		Paused:             o.Paused,
		Canary:             o.Canary,
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// OutcomeError is a swap that a sidecar ran and that did not succeed. Its
// exit code is the one the CLI exits with.
type OutcomeError struct{ Outcome Outcome }

func (e *OutcomeError) Error() string {
	if e.Outcome.Error != "" {
		return e.Outcome.Error
	}
	return "swap " + e.Outcome.Result
}

// ExitCode is the code dswap exits with for this outcome.
func (e *OutcomeError) SwapExitCode() int { return e.Outcome.ExitCode }
