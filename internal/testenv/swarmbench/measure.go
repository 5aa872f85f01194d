package swarmbench

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// Swap is one measured swap.
type Swap struct {
	Index    int
	From, To string // versions
	// Start and End bracket the swap's command (docker service update, or
	// dswap up).
	Start, End time.Time
	// Err is set when the command failed.
	Err error
	// Output is the command's last lines, kept for a failed swap.
	Output string
	Metrics
}

// Metrics are what the clients saw of one swap: every request of the
// swap's load run, which starts PreSwap before the command and ends
// Settle after it.
type Metrics struct {
	Requests, Failed, Hung int
	// Failures counts failed requests by kind ("HTTP 502", or the
	// transport error with addresses left out).
	Failures map[string]int
	// FirstNew is the send time of the first request the new version
	// answered; FullNew the send time from which every request was
	// answered by the new version (none failed, none by the old). Zero
	// when it never happened within the run.
	FirstNew, FullNew time.Time
}

// measure reads a swap's load run. Results must be sorted by Start, as
// loadgen's report has them.
func measure(results []loadgen.Result, hung time.Duration, to string) Metrics {
	m := Metrics{Requests: len(results), Failures: map[string]int{}}
	lastNotNew := -1
	for i, r := range results {
		if r.Failed() {
			m.Failed++
			m.Failures[failureKind(r)]++
		}
		if r.Latency() >= hung {
			m.Hung++
		}
		if !r.Failed() && r.Version == to {
			if m.FirstNew.IsZero() {
				m.FirstNew = r.Start
			}
		} else {
			lastNotNew = i
		}
	}
	if lastNotNew+1 < len(results) {
		m.FullNew = results[lastNotNew+1].Start
	}
	return m
}

// failureKind names a failure without what differs between requests (the
// URL, ports, addresses), so that the kinds can be counted.
func failureKind(r loadgen.Result) string {
	if r.Status != 0 {
		return fmt.Sprintf("HTTP %d", r.Status)
	}
	e := requestPrefix.ReplaceAllString(r.Err, "")
	return addrPattern.ReplaceAllString(e, "ADDR")
}

var (
	requestPrefix = regexp.MustCompile(`^[A-Za-z]+ "[^"]*": `)
	addrPattern   = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)
)

// sinceStart is how long after the swap's start t came, or -1 if t is zero.
func (s Swap) sinceStart(t time.Time) time.Duration {
	if t.IsZero() {
		return -1
	}
	return t.Sub(s.Start)
}

// failureSummary lists the failure kinds, most frequent first.
func failureSummary(f map[string]int) string {
	kinds := make([]string, 0, len(f))
	for k := range f {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if f[kinds[i]] != f[kinds[j]] {
			return f[kinds[i]] > f[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d× %s", f[k], k))
	}
	return strings.Join(parts, "; ")
}
