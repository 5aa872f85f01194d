package timeline

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Layout of the picture, in SVG user units (pixels).
const (
	svgWidth     = 960
	plotLeft     = 64
	plotRight    = svgWidth - 24
	plotHeight   = 260
	titleY       = 24
	bandTop      = 38 // first row of mark labels
	labelRow     = 14 // height of one row of mark labels
	lineHeight   = 14 // note lines
	charWidth    = 6.3
	maxXTicks    = 14
	maxYTicks    = 5
	noteWrapCols = 145
	titleCols    = 95 // characters of 15 px bold text that fit the width
)

// Render writes t as a standalone SVG document.
func Render(w io.Writer, t Timeline) error {
	if !t.End.After(t.Start) {
		return fmt.Errorf("drawing timeline %q: end %s is not after start %s", t.Title, t.End.Format(time.RFC3339Nano), t.Start.Format(time.RFC3339Nano))
	}
	if t.Width <= 0 {
		t.Width = DefaultWidth
	}
	var b strings.Builder
	c := newCanvas(t)
	c.draw(&b)
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing timeline %q: %w", t.Title, err)
	}
	return nil
}

// canvas holds the computed layout of one picture.
type canvas struct {
	t         Timeline
	span      time.Duration
	versions  []string
	colors    map[string]string
	labels    []placedLabel
	plotTop   float64
	plotBot   float64
	yTop      float64
	yStep     float64
	noteLines []string
	height    float64
}

// placedLabel is a mark with its label's position.
type placedLabel struct {
	Mark
	x      float64
	row    int
	anchor string // "start" or "end"
	text   string
}

func newCanvas(t Timeline) *canvas {
	c := &canvas{t: t, span: t.End.Sub(t.Start)}
	c.versions = t.versions()
	c.colors = t.colorOf(c.versions)
	c.labels = c.placeLabels()
	rows := 0
	for _, l := range c.labels {
		rows = max(rows, l.row+1)
	}
	c.plotTop = bandTop + float64(rows)*labelRow + 6
	c.plotBot = c.plotTop + plotHeight
	maxBar := 0
	for _, bk := range t.Buckets {
		maxBar = max(maxBar, bk.Total())
	}
	c.yTop, c.yStep = niceCeil(maxBar, maxYTicks)
	c.noteLines = wrap(t.Note, noteWrapCols)
	c.height = c.plotBot + 80 + float64(len(c.noteLines))*lineHeight + 8
	return c
}

// x maps an instant to the x coordinate, clamped to the plot.
func (c *canvas) x(at time.Time) float64 {
	f := float64(at.Sub(c.t.Start)) / float64(c.span)
	f = min(max(f, 0), 1)
	return plotLeft + f*(plotRight-plotLeft)
}

// y maps a request count to the y coordinate.
func (c *canvas) y(v float64) float64 {
	return c.plotBot - v/c.yTop*plotHeight
}

// placeLabels puts each mark's label in the first row where it does not
// overlap the previous label, so that marks a few milliseconds apart stay
// readable. Marks outside the time range are left out.
func (c *canvas) placeLabels() []placedLabel {
	marks := make([]Mark, 0, len(c.t.Marks))
	for _, m := range c.t.Marks {
		if m.At.Before(c.t.Start) || m.At.After(c.t.End) {
			continue
		}
		marks = append(marks, m)
	}
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].At.Before(marks[j].At) })
	var rowEnds []float64 // rightmost x used per row
	out := make([]placedLabel, 0, len(marks))
	for _, m := range marks {
		l := placedLabel{Mark: m, x: c.x(m.At), anchor: "start"}
		l.text = fmt.Sprintf("%s %.2fs", m.Name, m.At.Sub(c.t.Start).Seconds())
		width := float64(len([]rune(l.text))) * charWidth
		left, right := l.x+3, l.x+3+width
		if right > svgWidth-4 {
			l.anchor = "end"
			left, right = l.x-3-width, l.x-3
		}
		l.row = len(rowEnds)
		for r, end := range rowEnds {
			if left > end+8 {
				l.row = r
				break
			}
		}
		if l.row == len(rowEnds) {
			rowEnds = append(rowEnds, right)
		} else {
			rowEnds[l.row] = right
		}
		out = append(out, l)
	}
	return out
}

func (c *canvas) draw(b *strings.Builder) {
	fmt.Fprintf(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">`+"\n",
		svgWidth, c.height, svgWidth, c.height)
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%.0f" fill="#ffffff"/>`+"\n", svgWidth, c.height)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n", plotLeft, titleY, esc(truncate(c.t.Title, titleCols)))
	c.drawGrid(b)
	c.drawBars(b)
	c.drawWeights(b)
	c.drawMarks(b)
	c.drawAxes(b)
	c.drawLegend(b)
	c.drawNote(b)
	b.WriteString("</svg>\n")
}

// drawGrid draws horizontal lines at the y ticks with their labels.
func (c *canvas) drawGrid(b *strings.Builder) {
	b.WriteString(`<g class="grid">` + "\n")
	for _, v := range ticks(c.yTop, c.yStep) {
		y := c.y(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", plotLeft, y, plotRight, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", plotLeft-6, y+4, formatTick(v, c.yStep))
	}
	b.WriteString("</g>\n")
}

// drawBars draws one stacked bar per bucket: versions in name order, then
// hung, then failed on top where they catch the eye.
func (c *canvas) drawBars(b *strings.Builder) {
	b.WriteString(`<g class="bars">` + "\n")
	for _, bk := range c.t.Buckets {
		width := c.t.Width
		if bk.Width > 0 {
			width = bk.Width
		}
		end := bk.Start.Add(width)
		if !end.After(c.t.Start) || !bk.Start.Before(c.t.End) {
			continue
		}
		x0, x1 := c.x(bk.Start), c.x(end)
		if x1-x0 > 3 {
			x1-- // a hairline gap keeps neighbouring bars apart
		}
		base := 0.0
		segment := func(n int, color, what string) {
			if n <= 0 {
				return
			}
			top := base + float64(n)
			fmt.Fprintf(b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s: %d</title></rect>`+"\n",
				x0, c.y(top), max(x1-x0, 0.5), c.y(base)-c.y(top), color, esc(what), n)
			base = top
		}
		for _, v := range c.versions {
			segment(bk.ByVersion[v], c.colors[v], v)
		}
		segment(bk.Hung, HungColor, "hung")
		segment(bk.Failed, FailedColor, "failed")
	}
	b.WriteString("</g>\n")
}

// drawMarks draws the phase lines and their labels.
func (c *canvas) drawMarks(b *strings.Builder) {
	b.WriteString(`<g class="marks">` + "\n")
	for _, l := range c.labels {
		textY := bandTop + float64(l.row)*labelRow + 10
		fmt.Fprintf(b, `<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#222" stroke-width="1" stroke-dasharray="4,3"/>`+"\n",
			l.x, textY+3, l.x, c.plotBot)
		tx := l.x + 3
		if l.anchor == "end" {
			tx = l.x - 3
		}
		fmt.Fprintf(b, `<text class="mark" x="%.2f" y="%.1f" text-anchor="%s" fill="#222">%s</text>`+"\n", tx, textY, l.anchor, esc(l.text))
	}
	b.WriteString("</g>\n")
}

// drawAxes draws the axis lines, the x ticks in seconds since Start, and
// both axis titles.
func (c *canvas) drawAxes(b *strings.Builder) {
	b.WriteString(`<g class="axes">` + "\n")
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#222"/>`+"\n", plotLeft, c.plotBot, plotRight, c.plotBot)
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#222"/>`+"\n", plotLeft, c.plotTop, plotLeft, c.plotBot)
	spanSec := c.span.Seconds()
	step := niceStep(spanSec, maxXTicks)
	for _, v := range ticks(spanSec, step) {
		x := c.x(c.t.Start.Add(time.Duration(v * float64(time.Second))))
		fmt.Fprintf(b, `<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#222"/>`+"\n", x, c.plotBot, x, c.plotBot+4)
		fmt.Fprintf(b, `<text x="%.2f" y="%.1f" text-anchor="middle" fill="#444">%ss</text>`+"\n", x, c.plotBot+16, formatTick(v, step))
	}
	fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="middle" fill="#444">seconds since %s (UTC)</text>`+"\n",
		(plotLeft+plotRight)/2, c.plotBot+32, c.t.Start.UTC().Format("2006-01-02 15:04:05.000"))
	ylabel := c.t.YLabel
	if ylabel == "" {
		ylabel = "requests per " + c.t.Width.String()
	}
	midY := (c.plotTop + c.plotBot) / 2
	fmt.Fprintf(b, `<text x="16" y="%.1f" text-anchor="middle" fill="#444" transform="rotate(-90 16 %.1f)">%s</text>`+"\n", midY, midY, esc(ylabel))
	b.WriteString("</g>\n")
}

// drawLegend draws one swatch per version, then hung and failed.
func (c *canvas) drawLegend(b *strings.Builder) {
	type item struct{ name, color string }
	items := make([]item, 0, len(c.versions)+2)
	for _, v := range c.versions {
		items = append(items, item{v, c.colors[v]})
	}
	// Hung requests are a notion of the load generator; a picture without
	// a threshold and without hung requests leaves them out of the legend.
	anyHung := false
	for _, bk := range c.t.Buckets {
		anyHung = anyHung || bk.Hung > 0
	}
	switch {
	case c.t.HungAfter > 0:
		items = append(items, item{fmt.Sprintf("hung (answered after > %s)", c.t.HungAfter), HungColor})
	case anyHung:
		items = append(items, item{"hung (answered, but slowly)", HungColor})
	}
	items = append(items, item{"failed (non-2xx or transport error)", FailedColor})
	if len(c.t.Weights) > 0 {
		items = append(items, item{weightLegend, WeightColor})
	}
	b.WriteString(`<g class="legend">` + "\n")
	x := float64(plotLeft)
	y := c.plotBot + 52
	for _, it := range items {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/>`+"\n", x, y-9, it.color)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x+14, y, esc(it.name))
		x += 14 + float64(len([]rune(it.name)))*charWidth + 18
	}
	b.WriteString("</g>\n")
}

// drawNote writes the wrapped note under the legend.
func (c *canvas) drawNote(b *strings.Builder) {
	if len(c.noteLines) == 0 {
		return
	}
	y := c.plotBot + 76
	fmt.Fprintf(b, `<text class="note" x="%d" y="%.1f" fill="#333">`, plotLeft, y)
	for i, line := range c.noteLines {
		dy := 0
		if i > 0 {
			dy = lineHeight
		}
		fmt.Fprintf(b, `<tspan x="%d" dy="%d">%s</tspan>`, plotLeft, dy, esc(line))
	}
	b.WriteString("</text>\n")
}

// wrap breaks text into lines of at most cols characters at spaces;
// explicit newlines start new lines.
func wrap(text string, cols int) []string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(text), "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case len([]rune(line))+1+len([]rune(word)) > cols:
				out = append(out, line)
				line = word
			default:
				line += " " + word
			}
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// truncate shortens s to at most cols characters, ending in an ellipsis.
func truncate(s string, cols int) string {
	r := []rune(s)
	if len(r) <= cols {
		return s
	}
	return string(r[:cols-1]) + "…"
}

// esc escapes text for an SVG text node or attribute value.
func esc(s string) string {
	var b strings.Builder
	// EscapeText only fails when the writer does, and a Builder does not.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
