package torture

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// SwapRecord is one swap of a run and what became of it.
type SwapRecord struct {
	Index    int
	Fault    Fault
	Injected bool   // false: dswap ended before the fault's moment
	Note     string // what the fault did, or why it did not strike
	From, To string // versions
	Served   string // the version serving after the recovery
	ExitCode int    // of dswap up (137: SIGKILLed)
	Result   string // dswap up's result, empty when it printed none
	Requests int
	// FailedUnavoidable are failed requests inside the window of a fault
	// that makes failures unavoidable; every other failed request is
	// FailedAvoidable, and a violation.
	FailedAvoidable, FailedUnavoidable int
	// Recovery is from the fault's strike (or dswap's start, when none
	// struck) until the invariants held.
	Recovery   time.Duration
	Violations []string
}

// Line is the swap's progress line.
func (s SwapRecord) Line() string {
	struck := "struck"
	switch {
	case s.Fault.Kind == FaultNone:
		struck = "control"
	case !s.Injected:
		struck = "not reached"
	}
	verdict := "ok"
	if len(s.Violations) > 0 {
		verdict = fmt.Sprintf("%d VIOLATIONS", len(s.Violations))
	}
	return fmt.Sprintf("swap %3d %s->%s %-34s %-11s exit %3d %-8s serving %s, %5d requests, failed %d avoidable %d unavoidable, recovered in %s: %s%s",
		s.Index, s.From, s.To, s.Fault, struck, s.ExitCode, s.Result, s.Served, s.Requests, s.FailedAvoidable, s.FailedUnavoidable,
		s.Recovery.Round(time.Millisecond), verdict, noteOf(s.Note))
}

// KindFigures are the figures of one fault kind.
type KindFigures struct {
	Kind                               FaultKind
	Count, Struck                      int
	Requests                           int
	FailedAvoidable, FailedUnavoidable int
	Violations                         int
	RecoveryMedian, RecoveryMax        time.Duration
}

// Figures sums records per fault kind, in the table's order.
func Figures(records []SwapRecord) []KindFigures {
	byKind := map[FaultKind]*KindFigures{}
	recoveries := map[FaultKind][]time.Duration{}
	for _, r := range records {
		k := byKind[r.Fault.Kind]
		if k == nil {
			k = &KindFigures{Kind: r.Fault.Kind}
			byKind[r.Fault.Kind] = k
		}
		k.Count++
		if r.Injected {
			k.Struck++
		}
		k.Requests += r.Requests
		k.FailedAvoidable += r.FailedAvoidable
		k.FailedUnavoidable += r.FailedUnavoidable
		if len(r.Violations) > 0 {
			k.Violations++
		}
		recoveries[r.Fault.Kind] = append(recoveries[r.Fault.Kind], r.Recovery)
	}
	var out []KindFigures
	for _, s := range Table {
		k := byKind[s.Kind]
		if k == nil {
			continue
		}
		ds := recoveries[s.Kind]
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		k.RecoveryMedian, k.RecoveryMax = ds[len(ds)/2], ds[len(ds)-1]
		out = append(out, *k)
	}
	return out
}

// WriteMarkdown writes the figures as a Markdown table with a total row.
func WriteMarkdown(w io.Writer, records []SwapRecord) error {
	var b strings.Builder
	b.WriteString("| fault | swaps | struck | requests | failed, avoidable | failed, unavoidable | swaps with violations | recovery median | recovery max |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	var total KindFigures
	for _, k := range Figures(records) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s | %s |\n", k.Kind, k.Count, k.Struck, k.Requests,
			k.FailedAvoidable, k.FailedUnavoidable, k.Violations, seconds(k.RecoveryMedian), seconds(k.RecoveryMax))
		total.Count += k.Count
		total.Struck += k.Struck
		total.Requests += k.Requests
		total.FailedAvoidable += k.FailedAvoidable
		total.FailedUnavoidable += k.FailedUnavoidable
		total.Violations += k.Violations
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %d | %d | %d | %d | | |\n", total.Count, total.Struck, total.Requests,
		total.FailedAvoidable, total.FailedUnavoidable, total.Violations)
	_, err := io.WriteString(w, b.String())
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
