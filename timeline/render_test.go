package timeline

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// sample is a swap from v1 to v2 with one failure and one hung request.
func sample() Timeline {
	var buckets []Bucket
	for i := range 40 {
		bk := Bucket{Start: at(i * 100), ByVersion: map[string]int{}}
		if i < 20 {
			bk.ByVersion["v1"] = 14
		} else {
			bk.ByVersion["v2"] = 15
		}
		if i == 20 {
			bk.Failed = 2
			bk.Hung = 1
		}
		buckets = append(buckets, bk)
	}
	return Timeline{
		Title:     "dswap <v1 → v2> & more",
		Start:     at(0),
		End:       at(4000),
		Buckets:   buckets,
		HungAfter: 5 * time.Second,
		Marks: []Mark{
			{Name: "created", At: at(200)},
			{Name: "healthy", At: at(1900)},
			{Name: "flipped", At: at(2000)},
			{Name: "SIGTERM old", At: at(2001)},
			{Name: "removed", At: at(3990)},
			{Name: "outside", At: at(9000)},
		},
		Note: "per-version traffic comes from the load generator's own requests; " + strings.Repeat("long note ", 30),
	}
}

// parsed collects what the tests look at in a rendered SVG.
type parsed struct {
	root       string
	texts      []string
	markTexts  []string
	rectFills  map[string]int
	rectTitles []string
}

// parseSVG fails the test unless the SVG is well-formed XML.
func parseSVG(t *testing.T, svg []byte) parsed {
	t.Helper()
	p := parsed{rectFills: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var stack []xml.StartElement
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "SVG must be well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			if p.root == "" {
				p.root = tok.Name.Local
			}
			stack = append(stack, tok)
			if tok.Name.Local == "rect" {
				p.rectFills[attr(tok, "fill")]++
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			top := stack[len(stack)-1]
			text := strings.TrimSpace(string(tok))
			switch top.Name.Local {
			case "text", "tspan":
				p.texts = append(p.texts, text)
				if attr(top, "class") == "mark" {
					p.markTexts = append(p.markTexts, text)
				}
			case "title":
				p.rectTitles = append(p.rectTitles, text)
			}
		}
	}
	return p
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestRenderIsWellFormedWithMarksAndLegend(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, sample()))
	p := parseSVG(t, buf.Bytes())

	assert.Equal(t, "svg", p.root)
	assert.Contains(t, p.texts, "dswap <v1 → v2> & more", "the title is escaped, not mangled")
	assert.Equal(t, []string{"created 0.20s", "healthy 1.90s", "flipped 2.00s", "SIGTERM old 2.00s", "removed 3.99s"}, p.markTexts,
		"every mark inside the range is labelled, in time order; the one outside is left out")
	for _, want := range []string{"v1", "v2", "hung (answered after > 5s)", "failed (non-2xx or transport error)", "0.0s", "4.0s", "requests per 100ms"} {
		assert.Contains(t, p.texts, want)
	}
	assert.Equal(t, 20+1, p.rectFills[palette[0]], "20 v1 segments and the legend swatch")
	assert.Equal(t, 20+1, p.rectFills[palette[1]], "20 v2 segments and the legend swatch")
	assert.Equal(t, 1+1, p.rectFills[FailedColor])
	assert.Equal(t, 1+1, p.rectFills[HungColor])
	assert.Contains(t, p.rectTitles, "failed: 2")
	noteLines := 0
	for _, s := range p.texts {
		if strings.Contains(s, "long note") {
			noteLines++
		}
	}
	assert.Greater(t, noteLines, 1, "a long note is wrapped into several lines")
}

func TestRenderSeparatesCloseMarks(t *testing.T) {
	c := newCanvas(sample())
	// A label that is not there must fail the test, not read as row 0.
	byName := map[string]placedLabel{}
	for _, l := range c.labels {
		byName[l.Name] = l
	}
	require.ElementsMatch(t, []string{"created", "healthy", "flipped", "SIGTERM old", "removed"}, keys(byName),
		"every mark inside the range gets a label, the one outside none")
	assert.NotEqual(t, byName["flipped"].row, byName["SIGTERM old"].row, "labels 1 ms apart go to different rows")
	assert.Equal(t, 0, byName["created"].row, "a label with room goes to the first row")
	assert.Equal(t, "end", byName["removed"].anchor, "a label at the right edge is drawn to the left of its line")
	assert.Equal(t, "start", byName["created"].anchor)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRenderWithoutBuckets(t *testing.T) {
	var buf bytes.Buffer
	err := Render(&buf, Timeline{Title: "phases only", Start: at(0), End: at(1500), Marks: []Mark{{Name: "healthy", At: at(700)}}, Note: "no metrics"})
	require.NoError(t, err)
	p := parseSVG(t, buf.Bytes())
	assert.Equal(t, []string{"healthy 0.70s"}, p.markTexts)
	assert.Contains(t, p.texts, "no metrics")
}

func TestRenderRejectsEmptyRange(t *testing.T) {
	err := Render(io.Discard, Timeline{Title: "x", Start: at(10), End: at(10)})
	require.ErrorContains(t, err, "is not after start")
}

func TestColorsFixedFirst(t *testing.T) {
	tl := Timeline{Colors: map[string]string{"v2": "#000000"}, Buckets: []Bucket{{ByVersion: map[string]int{"v1": 1, "v2": 1, "v3": 1}}}}
	got := tl.colorOf(tl.versions())
	assert.Equal(t, map[string]string{"v1": palette[0], "v2": "#000000", "v3": palette[1]}, got)
}

func TestWrap(t *testing.T) {
	assert.Equal(t, []string{"aaa bbb", "ccc", "new para"}, wrap("aaa bbb ccc\nnew para", 8))
	assert.Empty(t, wrap("  ", 10))
}

func TestRenderTicksAndTitleStayReadable(t *testing.T) {
	var buf bytes.Buffer
	tl := Timeline{Title: strings.Repeat("long title ", 20), Start: at(0), End: at(2000),
		Buckets: []Bucket{{Start: at(0), Width: 300 * time.Millisecond, ByVersion: map[string]int{"requests": 3}}}}
	require.NoError(t, Render(&buf, tl))
	p := parseSVG(t, buf.Bytes())
	for _, s := range p.texts {
		assert.NotContains(t, s, "00000000", "no float noise in labels")
	}
	assert.Contains(t, p.texts, "0.6s")
	assert.True(t, strings.HasSuffix(p.texts[0], "…"), "a long title is cut: %q", p.texts[0])
	assert.NotContains(t, p.texts, "hung (answered, but slowly)", "no hung legend without a threshold or hung requests")
	assert.Contains(t, buf.String(), `width="129.80"`, "a bucket's own width is used (300 ms of 2 s of 872 px, less the 1 px gap)")
}
