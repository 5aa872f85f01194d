package bench

import (
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// Metrics is what the load saw during one swap's window.
type Metrics struct {
	// Requests were sent in the window; Failed got a non-2xx answer or a
	// transport error; Hung took the hung threshold or longer, whatever
	// their outcome.
	Requests, Failed, Hung int
	Latency                loadgen.Percentiles
	// MixedAnswers is the time from the first answer of the new version to
	// the last answer of the old one, when the old answered after the new
	// (by answer time, among the requests sent in the window). With slow
	// requests this includes old requests that were sent before the flip
	// and finished during the drain.
	MixedAnswers time.Duration
	// MixedSent is the same by the time requests were sent: from the first
	// request that the new version answered to the last one the old
	// answered. It is positive only when new requests still reached the old
	// version after some had reached the new one.
	MixedSent time.Duration
	// HealthyToTraffic is from the strategy learning "healthy" to the
	// sending of the first request the new version answered.
	HealthyToTraffic time.Duration
	HasTraffic       bool
	// ReadyToHealthy is from the app being ready to the strategy
	// noticing it.
	ReadyToHealthy time.Duration
	HasReady       bool
	// SessionsCut are the swap's WebSocket sessions cut (Swap.SessionsCut).
	SessionsCut int
}

// answered reports whether r is a successful answer from version.
func answered(r loadgen.Result, version string) bool {
	return r.Err == "" && r.Status == 200 && r.Version == version
}

// measure attributes the results sent in one swap's window to it. Only
// requests sent in the window count, also for the mixed window by answer
// time, because the same version string may have been served by another
// container before the window (the versions alternate).
func measure(results []loadgen.Result, s Swap, w Window, hung time.Duration) Metrics {
	m := Metrics{SessionsCut: s.SessionsCut}
	var sent []loadgen.Result
	var firstNewSent, lastOldSent, firstNewEnd, lastOldEnd time.Time
	for _, r := range results {
		if w.Contains(r.Start) {
			sent = append(sent, r)
			// A request can be both: one that hangs until Traefik's dial
			// timeout and then fails counts as failed and as hung.
			if r.Failed() {
				m.Failed++
			}
			if r.Latency() >= hung {
				m.Hung++
			}
			if answered(r, s.To) && (firstNewSent.IsZero() || r.Start.Before(firstNewSent)) {
				firstNewSent = r.Start
			}
			if answered(r, s.From) && r.Start.After(lastOldSent) {
				lastOldSent = r.Start
			}
			if answered(r, s.To) && (firstNewEnd.IsZero() || r.End.Before(firstNewEnd)) {
				firstNewEnd = r.End
			}
			if answered(r, s.From) && r.End.After(lastOldEnd) {
				lastOldEnd = r.End
			}
		}
	}
	m.Requests = len(sent)
	m.Latency = loadgen.LatencyOf(sent)
	m.MixedAnswers = overlap(firstNewEnd, lastOldEnd)
	m.MixedSent = overlap(firstNewSent, lastOldSent)
	if !firstNewSent.IsZero() && !s.HealthyAt.IsZero() {
		m.HealthyToTraffic = firstNewSent.Sub(s.HealthyAt)
		m.HasTraffic = true
	}
	if !s.ReadyAt.IsZero() && !s.HealthyAt.IsZero() {
		m.ReadyToHealthy = s.HealthyAt.Sub(s.ReadyAt)
		m.HasReady = true
	}
	return m
}

// overlap is how long the old version kept answering after the new one
// started to, or 0.
func overlap(firstNew, lastOld time.Time) time.Duration {
	if firstNew.IsZero() || lastOld.IsZero() || !lastOld.After(firstNew) {
		return 0
	}
	return lastOld.Sub(firstNew)
}

// steady measures the steady-state window before the first swap.
func steady(results []loadgen.Result, w Window, hung time.Duration) Metrics {
	return measure(results, Swap{}, w, hung)
}
