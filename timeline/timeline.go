// Package timeline draws one swap as a picture: requests per time bucket
// as stacked bars (one colour per version that answered, red for failed
// requests), vertical lines at the swap's phase boundaries, axes in seconds,
// a title, a legend and a note. It writes plain SVG by hand so that dswap
// and its benchmark need no drawing dependency, and the files open in any
// browser or CI artifact viewer.
package timeline

import (
	"sort"
	"time"
)

// Mark is a named instant, drawn as a labelled vertical line: a phase
// boundary such as "healthy" or "SIGTERM old".
type Mark struct {
	Name string
	At   time.Time
}

// Bucket counts the requests of one time slice, by how they ended.
type Bucket struct {
	Start time.Time
	// Width overrides Timeline.Width for this bucket, for samples taken
	// at uneven intervals.
	Width time.Duration
	// ByVersion counts successful answers per version (or per series, when
	// versions are not known, e.g. "requests").
	ByVersion map[string]int
	// Hung counts requests that succeeded but took longer than the hung
	// threshold; Failed counts failed requests (non-2xx or transport
	// errors), whatever their duration.
	Hung   int
	Failed int
}

// Total is the height of the bucket's bar.
func (b Bucket) Total() int {
	n := b.Hung + b.Failed
	for _, c := range b.ByVersion {
		n += c
	}
	return n
}

// Timeline is everything one picture shows.
type Timeline struct {
	Title string
	// Start and End bound the x axis; marks outside are left out.
	Start, End time.Time
	// Width is the length of one bucket; zero means 100 ms.
	Width   time.Duration
	Buckets []Bucket
	Marks   []Mark
	// HungAfter is the threshold behind Bucket.Hung, for the legend.
	HungAfter time.Duration
	// YLabel names the bars' unit; empty means "requests per <Width>".
	YLabel string
	// Note is printed under the legend, wrapped; it says what the picture
	// does and does not show.
	Note string
	// Colors fixes the colour of some versions (CSS colours); the others
	// get palette colours in name order.
	Colors map[string]string
	// Weights, when set, are a canary's weights over time, drawn as a
	// line on a right axis (see weights.go).
	Weights []WeightPoint
}

// Colours of the stack segments that are not versions.
const (
	FailedColor = "#d62728"
	HungColor   = "#ff9f1c"
)

// palette is for versions, chosen to stay apart from red and orange.
var palette = []string{"#4e79a7", "#59a14f", "#b07aa1", "#76b7b2", "#9c755f", "#bab0ac"}

// DefaultWidth is the bucket width when Timeline.Width is zero.
const DefaultWidth = 100 * time.Millisecond

// versions returns the version names present in the buckets, sorted.
func (t Timeline) versions() []string {
	seen := map[string]bool{}
	for _, b := range t.Buckets {
		for v := range b.ByVersion {
			seen[v] = true
		}
	}
	for v := range t.Colors {
		seen[v] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// colorOf assigns colours: fixed ones first, then the palette in order.
func (t Timeline) colorOf(versions []string) map[string]string {
	out := make(map[string]string, len(versions))
	next := 0
	for _, v := range versions {
		if c, ok := t.Colors[v]; ok && c != "" {
			out[v] = c
			continue
		}
		out[v] = palette[next%len(palette)]
		next++
	}
	return out
}
