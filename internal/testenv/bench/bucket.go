package bench

import (
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
	"github.com/dswap-dev/dswap/timeline"
)

// Bucketize counts the requests sent in [from, to) per bucket of width, by
// how they ended: answered per version, hung (answered, but after hung or
// more), or failed. Buckets are by send time, so a request that hung for
// thirty seconds shows where it was sent, not where it finally ended.
// Every bucket of the range is present, empty or not.
func Bucketize(results []loadgen.Result, from, to time.Time, width, hung time.Duration) []timeline.Bucket {
	if width <= 0 || !to.After(from) {
		return nil
	}
	n := int((to.Sub(from) + width - 1) / width)
	out := make([]timeline.Bucket, n)
	for i := range out {
		out[i] = timeline.Bucket{Start: from.Add(time.Duration(i) * width), ByVersion: map[string]int{}}
	}
	for _, r := range results {
		if r.Start.Before(from) || !r.Start.Before(to) {
			continue
		}
		b := &out[int(r.Start.Sub(from)/width)]
		switch {
		case r.Failed():
			b.Failed++
		case hung > 0 && r.Latency() >= hung:
			b.Hung++
		default:
			b.ByVersion[r.Version]++
		}
	}
	return out
}
