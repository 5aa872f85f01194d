package loadgen

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Result is one request as a client saw it.
type Result struct {
	Client     int
	Start, End time.Time
	Status     int    // 0 on transport error
	Version    string // response body (trimmed) on 200
	Err        string // transport error, or "HTTP <code>: <body>" for non-2xx
}

// Latency is how long the client waited for the full response.
func (r Result) Latency() time.Duration { return r.End.Sub(r.Start) }

// Failed reports whether the request did not get a complete 2xx answer.
func (r Result) Failed() bool {
	return r.Err != "" || r.Status < 200 || r.Status > 299
}

// Report is what a run observed. Results are sorted by Start.
type Report struct {
	Results []Result
	// Total counts every recorded request. Failed counts non-2xx answers and
	// transport errors. Hung counts requests whose latency reached the Hung
	// threshold, whether or not they succeeded, so a slow success is Hung
	// but not Failed.
	Total, OK, Failed, Hung int
	// Aborted counts requests cut off because the run's context ended; they
	// say nothing about the target and are not in Results.
	Aborted       int
	ByVersion     map[string]int // 200 answers per version
	ByStatus      map[int]int    // answers per status; 0 is a transport error
	Latency       Percentiles
	HungThreshold time.Duration
	Elapsed       time.Duration // first Start to last End
}

// NewReport builds a report from results; hung is the latency at which a
// request counts as hung (zero means DefaultHung). Results are copied.
func NewReport(results []Result, hung time.Duration, aborted int) *Report {
	if hung <= 0 {
		hung = DefaultHung
	}
	sorted := append([]Result(nil), results...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	rep := &Report{
		Results:       sorted,
		Total:         len(sorted),
		Aborted:       aborted,
		ByVersion:     map[string]int{},
		ByStatus:      map[int]int{},
		Latency:       LatencyOf(sorted),
		HungThreshold: hung,
	}
	var first, last time.Time
	for _, r := range sorted {
		if r.Failed() {
			rep.Failed++
		} else {
			rep.OK++
		}
		if r.Latency() >= hung {
			rep.Hung++
		}
		rep.ByStatus[r.Status]++
		if r.Status == 200 && r.Err == "" {
			rep.ByVersion[r.Version]++
		}
		if first.IsZero() || r.Start.Before(first) {
			first = r.Start
		}
		if r.End.After(last) {
			last = r.End
		}
	}
	if !first.IsZero() {
		rep.Elapsed = last.Sub(first)
	}
	return rep
}

// Failures returns the failed requests in Start order.
func (r *Report) Failures() []Result {
	return r.filter(Result.Failed)
}

// HungResults returns the requests whose latency reached the threshold.
func (r *Report) HungResults() []Result {
	return r.filter(func(x Result) bool { return x.Latency() >= r.HungThreshold })
}

// filter returns the results for which keep is true.
func (r *Report) filter(keep func(Result) bool) []Result {
	var out []Result
	for _, x := range r.Results {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// answeredBy reports whether x is a successful answer of some version.
func answeredBy(x Result) bool {
	return x.Status == 200 && x.Err == ""
}

// FirstReceived is when the first answer of version arrived (its End), or
// the zero time if none did.
func (r *Report) FirstReceived(version string) time.Time {
	var t time.Time
	for _, x := range r.Results {
		if answeredBy(x) && x.Version == version && (t.IsZero() || x.End.Before(t)) {
			t = x.End
		}
	}
	return t
}

// LastReceived is when the last answer of version arrived (its End), or the
// zero time if none did.
func (r *Report) LastReceived(version string) time.Time {
	var t time.Time
	for _, x := range r.Results {
		if answeredBy(x) && x.Version == version && x.End.After(t) {
			t = x.End
		}
	}
	return t
}

// MixedAfter is the "both versions served" check: it returns the requests
// that were sent after the first answer of version newer was received but
// were answered by a different version. A request in flight at the switch
// may legitimately get the old version, which is why the cut is on Start.
// Failed requests are not answers and are not returned; see Failures.
func (r *Report) MixedAfter(newer string) []Result {
	cut := r.FirstReceived(newer)
	if cut.IsZero() {
		return nil
	}
	return r.filter(func(x Result) bool {
		return answeredBy(x) && x.Version != newer && x.Start.After(cut)
	})
}

// Summary is one human line: counts, versions and latency.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests: %d ok, %d failed, %d hung (>= %s)", r.Total, r.OK, r.Failed, r.Hung, r.HungThreshold)
	if r.Aborted > 0 {
		fmt.Fprintf(&b, ", %d aborted", r.Aborted)
	}
	if len(r.ByVersion) > 0 {
		versions := make([]string, 0, len(r.ByVersion))
		for v := range r.ByVersion {
			versions = append(versions, v)
		}
		sort.Strings(versions)
		parts := make([]string, len(versions))
		for i, v := range versions {
			parts[i] = fmt.Sprintf("%s=%d", v, r.ByVersion[v])
		}
		fmt.Fprintf(&b, "; versions %s", strings.Join(parts, " "))
	}
	if failedStatuses := r.failedStatusSummary(); failedStatuses != "" {
		fmt.Fprintf(&b, "; failures %s", failedStatuses)
	}
	fmt.Fprintf(&b, "; latency %s", r.Latency)
	if r.Elapsed > 0 {
		fmt.Fprintf(&b, "; %s, %.1f req/s", round(r.Elapsed), float64(r.Total)/r.Elapsed.Seconds())
	}
	return b.String()
}

// failedStatusSummary renders non-2xx statuses as "502=3 transport=1".
func (r *Report) failedStatusSummary() string {
	statuses := make([]int, 0, len(r.ByStatus))
	for s := range r.ByStatus {
		if s < 200 || s > 299 {
			statuses = append(statuses, s)
		}
	}
	sort.Ints(statuses)
	parts := make([]string, len(statuses))
	for i, s := range statuses {
		name := fmt.Sprint(s)
		if s == 0 {
			name = "transport"
		}
		parts[i] = fmt.Sprintf("%s=%d", name, r.ByStatus[s])
	}
	return strings.Join(parts, " ")
}
