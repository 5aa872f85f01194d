package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

// canaryWindow is the part of a load run during which the canary could
// answer: from the first request answered by v2 or failed to the last one.
// It returns the requests sent in it and, of them, the failed ones.
func canaryWindow(rep *loadgen.Report) (requests, failed int, from, to time.Time) {
	for _, r := range rep.Results {
		if r.Failed() || r.Version == "v2" {
			if from.IsZero() || r.Start.Before(from) {
				from = r.Start
			}
			if r.End.After(to) {
				to = r.End
			}
		}
	}
	for _, r := range rep.Results {
		if !from.IsZero() && !r.Start.Before(from) && !r.Start.After(to) {
			requests++
			if r.Failed() {
				failed++
			}
		}
	}
	return requests, failed, from, to
}

// TestCanaryAbortsBadRelease: a v2 that passes its HEALTHCHECK but answers
// 500 to one request in five is caught in the first step (5%) of
// --canary 5%,50% --step 20s: the route goes back to v1 alone (confirmed
// by Traefik before dswap returns), v2 is removed, dswap exits 1 with the
// figures, and the failed requests are bounded.
func TestCanaryAbortsBadRelease(t *testing.T) {
	svc := startService(t, "canary-bad", serviceOpts{})
	svg := filepath.Join(t.TempDir(), "canary.svg")
	run, rep := svc.swapUnderLoad(t, 4, "", image(imgFailing),
		"--canary", "5%,50%", "--step", "20s", "--max-error-rate", "1%", "--drain", "5s", "--report", svg)
	assert.Equal(t, 1, run.code, "a failed canary exits 1")
	assert.Equal(t, "canary", run.result.Phase)
	assert.Regexp(t, `error rate [0-9.]+% \([0-9]+ of [0-9]+\) > 1% at 5%`, run.result.Error)
	require.Len(t, run.result.Canary, 1, "one step judged, in the JSON result")
	assert.Equal(t, "fail", run.result.Canary[0].Verdict)
	assert.Equal(t, 5, run.result.Canary[0].Weight)
	assert.Contains(t, run.stderr, "canary step 1 of 2")
	assert.NotContains(t, run.stderr, "canary step 2 of 2", "aborted in the first step")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc), "v2 removed; the route names v1 alone")
	assert.NotContains(t, svc.routeFile(t), "weighted", "the weighted service is gone from the route")

	// Clients saw failures only from the canary, at its 5% weight: one in
	// five of 5% of the requests, i.e. 1% of the requests sent while the
	// canary took traffic. The margin (x1.5, +5) covers the requests in
	// flight when the weights changed and Traefik's round-robin phase.
	requests, failed, from, to := canaryWindow(rep)
	require.Positive(t, requests, "the canary took traffic")
	bound := int(float64(requests)*0.05*0.2*1.5) + 5
	rate := float64(rep.Total) / rep.Results[len(rep.Results)-1].End.Sub(rep.Results[0].Start).Seconds()
	fullStep := int(rate * 20 * 0.05 * 0.2)
	t.Logf("canary window %s: %d requests, %d failed (bound %d); a full 20 s step at %.0f req/s would fail %d", to.Sub(from).Round(time.Millisecond), requests, failed, bound, rate, fullStep)
	assert.Equal(t, failed, rep.Failed, "every failure falls in the canary window")
	assert.LessOrEqual(t, failed, bound)
	assert.LessOrEqual(t, failed, fullStep+5, "no more than a full 5% step at 20% failure would give")
	assert.Zero(t, rep.Hung)

	// The --report picture: the weight went to 5% and back to 0, and the
	// bars tell the versions apart, with the canary's 5xx.
	picture, err := os.ReadFile(svg)
	require.NoError(t, err, "the report was written")
	assert.Contains(t, string(picture), `<g class="weights">`)
	assert.Contains(t, string(picture), "<title>5% at ")
	assert.Contains(t, string(picture), "<title>0% at ")
	assert.Contains(t, string(picture), "<title>new version: ")
	assert.Contains(t, string(picture), "<title>old version: ")
	assert.Contains(t, string(picture), "<title>failed: ")

	h := runDswap(t, "history", svc.name)
	require.Equal(t, 0, h.code, h.stderr)
	assert.Contains(t, h.stdout, "rolled-back")
	assert.Contains(t, h.stdout, "error rate")
}

// TestCanaryPromotesGoodRelease: a good v2 passes every step and ends with
// all the traffic, the old version drained, and no request failed. The
// steps last 5 s rather than a minute: at the lab's request rate each step
// gets far more than --min-requests at 5%, so the verdicts are the same.
func TestCanaryPromotesGoodRelease(t *testing.T) {
	svc := startService(t, "canary-good", serviceOpts{})
	run, rep := svc.swapUnderLoad(t, 4, "", image(imgV2),
		"--canary", "5%,50%", "--step", "5s", "--max-error-rate", "1%", "--max-p99", "+50%", "--drain", "5s")
	require.Equal(t, 0, run.code, run.stderr)
	assert.Equal(t, 2, strings.Count(run.stderr, "canary step passed"), "both steps judged and passed")
	require.Len(t, run.result.Canary, 2, "both steps in the JSON result")
	for _, st := range run.result.Canary {
		assert.Equal(t, "pass", st.Verdict, st.Reason)
		assert.Positive(t, st.Requests)
	}
	assertNoFailedRequests(t, rep)
	assert.Positive(t, rep.ByVersion["v1"])
	assert.Positive(t, rep.ByVersion["v2"])
	assert.Equal(t, image(imgV2), assertConsistent(t, svc))
	assert.NotContains(t, svc.routeFile(t), "weighted")
}
