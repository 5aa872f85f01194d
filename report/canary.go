package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/timeline"
	"github.com/dswap-dev/dswap/traefik"
)

// During a canary Traefik counts each child of the weighted route as a
// service of its own ("web-stable@file" with the old containers,
// "web-canary@file" with the new), so the report can tell the versions
// apart there; before and after the split it sees the route's service
// alone, and names the version by the canary's weights.

// Series of a canary's bars.
const (
	oldSeries    = "old version"
	newSeries    = "new version"
	eitherSeries = "either version"
)

// canaryColors keep the versions apart from the failed requests' red.
var canaryColors = map[string]string{oldSeries: "#4e79a7", newSeries: "#59a14f", eitherSeries: "#bab0ac"}

// versionBuckets counts, per sample interval, the requests each version
// answered: from the canary's children while they count, else from the
// route's services, given to the version that had all the traffic at the
// interval's end (the old one before the first weight and after the canary
// was taken out, the new one after it took 100%), or to either while both
// shared a plain route.
func versionBuckets(samples []traefik.MetricsSample, services []string, weights []swap.WeightChange) []timeline.Bucket {
	var stable, canary []string
	for _, s := range services {
		base := strings.TrimSuffix(s, "@file")
		stable = append(stable, labels.StableChild(base)+"@file")
		canary = append(canary, labels.CanaryChild(base)+"@file")
	}
	delta := func(prev, cur map[string]float64, names []string) int {
		var n float64
		for _, s := range names {
			n += max(cur[s]-prev[s], 0)
		}
		return int(n)
	}
	var out []timeline.Bucket
	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		b := timeline.Bucket{Start: prev.At, Width: cur.At.Sub(prev.At), ByVersion: map[string]int{}}
		oldN, oldF := delta(prev.Requests, cur.Requests, stable), delta(prev.Failed, cur.Failed, stable)
		newN, newF := delta(prev.Requests, cur.Requests, canary), delta(prev.Failed, cur.Failed, canary)
		if oldN+newN > 0 {
			// The weighted route: Traefik counts it as well as its
			// children, so the route's own counter is left out here.
			b.ByVersion[oldSeries], b.ByVersion[newSeries] = oldN-oldF, newN-newF
			b.Failed = oldF + newF
		} else {
			n, f := delta(prev.Requests, cur.Requests, services), delta(prev.Failed, cur.Failed, services)
			b.ByVersion[holder(weights, cur.At)] = n - f
			b.Failed = f
		}
		out = append(out, b)
	}
	return out
}

// holder is the version that had all the traffic at t, by the canary's
// weights: old before any, and after one of 0; new after one of 100.
func holder(weights []swap.WeightChange, t time.Time) string {
	w := 0
	for _, c := range weights {
		if c.At.After(t) {
			break
		}
		w = c.Percent
	}
	switch w {
	case 0:
		return oldSeries
	case 100:
		return newSeries
	default:
		return eitherSeries
	}
}

// canaryTimeline adds a canary's weights and its bars by version.
func canaryTimeline(tl *timeline.Timeline, res *swap.Result, samples []traefik.MetricsSample, services []string) {
	for _, w := range res.Weights {
		tl.Weights = append(tl.Weights, timeline.WeightPoint{At: w.At, Percent: w.Percent})
	}
	if len(services) == 0 {
		return
	}
	tl.Buckets = versionBuckets(samples, services, res.Weights)
	tl.Colors = map[string]string{}
	for _, b := range tl.Buckets {
		for v, n := range b.ByVersion {
			if n > 0 {
				tl.Colors[v] = canaryColors[v] // only the series that answered get a legend
			}
		}
	}
	tl.Note = fmt.Sprintf("Phases and weights from dswap's own record (the weights as Traefik confirmed them). Bars: requests Traefik completed, from traefik_service_requests_total sampled every %s (red: 5xx): during the canary per child of the weighted route (%s), so per version; before and after it for %s, given to the version that had all the traffic then (either: both versions shared a plain route).",
		traefik.SampleEvery, strings.Join(childNames(services), ", "), strings.Join(services, ", "))
}

func childNames(services []string) []string {
	var out []string
	for _, s := range services {
		base := strings.TrimSuffix(s, "@file")
		out = append(out, labels.StableChild(base), labels.CanaryChild(base))
	}
	return out
}
