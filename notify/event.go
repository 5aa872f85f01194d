// Package notify tells people where they look (a JSON webhook, chat,
// email) how a swap ended: swapped, failed and rolled back, rolled back by
// the monitor, or a route the keeper repaired. A notification is best
// effort: one that cannot be delivered is logged and never fails a swap.
package notify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/swap"
)

// Results an Event carries. They are the words of the service's history
// (failed, rolled-back), so that a message and `dswap history` agree.
const (
	ResultSwapped    = "swapped"
	ResultFailed     = "failed"      // failed before traffic moved; rolled back, the old version serves
	ResultRolledBack = "rolled-back" // the monitor moved traffic back to the old version
	ResultError      = "error"       // anything else; the message says what was left
	ResultRepaired   = "repaired"    // the route keeper put a service's route right
	ResultPaused     = "paused"      // a canary stopped at its last weight (--pause); promote or abort go on
)

// Event is one notification: the JSON body of the webhook, and the text
// of a chat or email message.
type Event struct {
	// Kind is swap, rollback (a `dswap rollback`), promote or abort (the
	// end of a paused canary) or keeper.
	Kind    string `json:"kind"`
	SwapID  string `json:"swap_id,omitempty"`
	Service string `json:"service"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Result  string `json:"result"`
	// Trigger is what started the swap: cli, api, registry, github, poll.
	Trigger    string     `json:"trigger,omitempty"`
	Time       time.Time  `json:"time"`
	Durations  *Durations `json:"durations,omitempty"`
	Containers []string   `json:"containers,omitempty"`
	// FailedPhase, Reason, Kept and HealthOutput say why a swap failed
	// and what still serves.
	FailedPhase  string `json:"failed_phase,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Kept         string `json:"kept,omitempty"`
	HealthOutput string `json:"health_output,omitempty"`
	// Repaired lists the containers of an interrupted swap the keeper
	// removed.
	Repaired []string `json:"repaired,omitempty"`
}

// Durations of a swap, in seconds.
type Durations struct {
	Total float64 `json:"total_seconds"`
	// Healthy is from the start of the swap until the new container(s)
	// were healthy; RoutedAfterHealthy from then until Traefik showed
	// the new route.
	Healthy            float64 `json:"healthy_seconds,omitempty"`
	RoutedAfterHealthy float64 `json:"routed_after_healthy_seconds,omitempty"`
	Flip               float64 `json:"flip_seconds,omitempty"`
	Drain              float64 `json:"drain_seconds,omitempty"`
}

// SwapEvent describes a finished swap or rollback. It returns false for
// what is not worth a message: a swap to the image that already ran, and
// a request refused before anything changed (bad input, a held lock),
// which the caller was told about at once.
func SwapEvent(kind, trigger string, res *swap.Result, err error) (Event, bool) {
	ev := Event{Kind: kind, Trigger: trigger, Result: ResultSwapped, Time: time.Now().UTC()}
	if res != nil {
		if res.Noop && err == nil {
			return ev, false
		}
		ev.Service, ev.From, ev.To, ev.Containers = res.Service, res.FromImage, res.ToImage, res.New
		ev.Durations = durationsOf(res)
		if res.Paused != "" && err == nil {
			ev.Result, ev.Reason = ResultPaused, res.Paused
		}
	}
	var failed *swap.FailedError
	switch {
	case err == nil:
	case errors.As(err, &failed):
		ev.Result, ev.FailedPhase, ev.Reason, ev.Kept = ResultFailed, failed.Phase.String(), failed.Error(), failed.Kept
		if failed.Phase == swap.PhaseMonitor {
			ev.Result = ResultRolledBack
		}
		if ev.Service == "" {
			ev.Service = failed.Service
		}
		if n := len(failed.HealthLog); n > 0 {
			ev.HealthOutput = strings.TrimSpace(failed.HealthLog[n-1].Output)
		}
	case errors.Is(err, swap.ErrBadInput) || res == nil:
		// Nothing was changed: the caller got the error at once.
		return ev, false
	default:
		ev.Result, ev.Reason = ResultError, err.Error()
	}
	return ev, ev.Service != ""
}

func durationsOf(res *swap.Result) *Durations {
	d := &Durations{
		Total:              res.Total.Seconds(),
		Healthy:            res.HealthyAfter.Seconds(),
		RoutedAfterHealthy: res.RoutedAfterHealthy.Seconds(),
		Flip:               res.Flip.Seconds(),
	}
	for _, o := range res.Drained {
		d.Drain = max(d.Drain, o.Took.Seconds())
	}
	return d
}

// RepairEvent describes a route the keeper put right.
func RepairEvent(got swap.Reconciled) Event {
	return Event{Kind: "keeper", Service: got.Service, Result: ResultRepaired, Time: time.Now().UTC(),
		Containers: got.Containers, Repaired: got.Repaired, Durations: &Durations{Total: got.Took.Seconds()}}
}

// Title is a message's first line.
func (e Event) Title() string {
	switch e.Result {
	case ResultSwapped:
		switch e.Kind {
		case "rollback":
			return fmt.Sprintf("dswap: %s rolled back to %s", e.Service, e.To)
		case "promote":
			return fmt.Sprintf("dswap: canary of %s promoted: %s takes all the traffic", e.Service, e.To)
		case "abort":
			return fmt.Sprintf("dswap: canary of %s aborted: %s takes all the traffic again", e.Service, e.To)
		}
		return fmt.Sprintf("dswap: %s swapped to %s", e.Service, e.To)
	case ResultFailed:
		return fmt.Sprintf("dswap: swap of %s to %s failed; rolled back", e.Service, e.To)
	case ResultRolledBack:
		return fmt.Sprintf("dswap: %s rolled back from %s by the monitor", e.Service, e.To)
	case ResultRepaired:
		return fmt.Sprintf("dswap: route of %s repaired", e.Service)
	case ResultPaused:
		return fmt.Sprintf("dswap: canary of %s paused: %s takes part of the traffic", e.Service, e.To)
	default:
		return fmt.Sprintf("dswap: swap of %s to %s ended in an error", e.Service, e.To)
	}
}

// Text is the message for chat and email: the title, from → to, the
// durations and, on failure, the reason and the last health output.
func (e Event) Text() string {
	var b strings.Builder
	b.WriteString(e.Title())
	b.WriteString("\n")
	if e.Kind != "keeper" {
		from := e.From
		if from == "" {
			from = "(nothing)"
		}
		fmt.Fprintf(&b, "%s → %s: %s\n", from, e.To, e.Result)
	}
	if d := e.Durations; d != nil && e.Kind != "keeper" {
		fmt.Fprintf(&b, "took %.1fs", d.Total)
		if d.Healthy > 0 {
			fmt.Fprintf(&b, "; healthy after %.1fs", d.Healthy)
		}
		if d.RoutedAfterHealthy > 0 {
			fmt.Fprintf(&b, "; traffic moved %.2fs later", d.RoutedAfterHealthy)
		}
		if d.Drain > 0 {
			fmt.Fprintf(&b, "; old drained in %.1fs", d.Drain)
		}
		b.WriteString("\n")
	}
	if len(e.Containers) > 0 {
		fmt.Fprintf(&b, "containers: %s\n", strings.Join(e.Containers, ", "))
	}
	if len(e.Repaired) > 0 {
		fmt.Fprintf(&b, "removed from an interrupted swap: %s\n", strings.Join(e.Repaired, ", "))
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", e.Reason)
	}
	if e.Kept != "" {
		fmt.Fprintf(&b, "still serving: %s\n", e.Kept)
	}
	if e.HealthOutput != "" {
		fmt.Fprintf(&b, "last health output: %s\n", e.HealthOutput)
	}
	return strings.TrimRight(b.String(), "\n")
}
