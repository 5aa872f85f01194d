package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/timeline"
	"github.com/dswap-dev/dswap/traefik"
)

// canarySample is Traefik's counters at ms: the route's service and the
// weighted route's children, with their 5xx.
func canarySample(ms int, web, stable, canary, canaryFailed float64) traefik.MetricsSample {
	return traefik.MetricsSample{At: rat(ms),
		Requests: map[string]float64{"web@file": web, "web-stable@file": stable, "web-canary@file": canary},
		Failed:   map[string]float64{"web-canary@file": canaryFailed}}
}

func TestCanaryReportShowsVersionsAndWeights(t *testing.T) {
	res := finishedSwap()
	res.Weights = []swap.WeightChange{{At: rat(150), Percent: 5}, {At: rat(350), Percent: 0}}
	samples := []traefik.MetricsSample{
		canarySample(0, 100, 0, 0, 0),
		canarySample(100, 120, 0, 0, 0),  // before the split: v1 alone
		canarySample(200, 140, 19, 1, 0), // the split: children count, the weighted route too
		canarySample(300, 160, 38, 2, 1), // a canary request failed
		canarySample(400, 180, 38, 2, 1), // taken out: the plain route, v1 again
		canarySample(500, 200, 38, 2, 1),
	}
	got := versionBuckets(samples, []string{"web@file"}, res.Weights)
	require.Len(t, got, 5)
	assert.Equal(t, map[string]int{oldSeries: 20}, got[0].ByVersion)
	assert.Equal(t, map[string]int{oldSeries: 19, newSeries: 1}, got[1].ByVersion, "the weighted route's own counter is not counted twice")
	assert.Equal(t, map[string]int{oldSeries: 19, newSeries: 0}, got[2].ByVersion)
	assert.Equal(t, 1, got[2].Failed)
	assert.Equal(t, map[string]int{oldSeries: 20}, got[3].ByVersion, "after the weight went back to 0, the plain route is the old version's")

	promoted := []swap.WeightChange{{At: rat(150), Percent: 50}, {At: rat(250), Percent: 100}}
	assert.Equal(t, newSeries, holder(promoted, rat(300)))
	assert.Equal(t, oldSeries, holder(promoted, rat(100)))
	assert.Equal(t, eitherSeries, holder([]swap.WeightChange{{At: rat(150), Percent: 33}}, rat(200)))

	tl := reportTimeline(res, samples, []string{"web@file"}, nil, rat(0), rat(1100))
	assert.Contains(t, tl.Title, "--canary")
	assert.Equal(t, []timeline.WeightPoint{{At: rat(150), Percent: 5}, {At: rat(350), Percent: 0}}, tl.Weights)
	assert.Contains(t, tl.Note, "web-stable, web-canary")
	var svg bytes.Buffer
	require.NoError(t, timeline.Render(&svg, tl))
	out := svg.String()
	assert.Contains(t, out, `<polyline points=`)
	assert.Contains(t, out, "new version&#39;s weight, % (right axis)")
	assert.Contains(t, out, "<title>new version: 1</title>")
	assert.Contains(t, out, "<title>5% at 0.15s</title>")
}
