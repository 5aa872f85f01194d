package timeline

import (
	"fmt"
	"strings"
	"time"
)

// WeightPoint is the share of the traffic Traefik gives the new version
// from At on, in percent: a canary's step, its promotion (100) or its
// removal (0).
type WeightPoint struct {
	At      time.Time
	Percent int
}

// WeightColor draws the new version's weight line.
const WeightColor = "#6a3d9a"

// weightLegend names the line in the legend.
const weightLegend = "new version's weight, % (right axis)"

// yWeight maps a percentage to the y coordinate of the plot.
func (c *canvas) yWeight(p float64) float64 {
	return c.plotBot - p/100*plotHeight
}

// drawWeights draws the weights as a step line over the bars, with a
// right axis from 0 to 100%. Before the first point the new version has
// none of the traffic; the last point holds to the end.
func (c *canvas) drawWeights(b *strings.Builder) {
	if len(c.t.Weights) == 0 {
		return
	}
	b.WriteString(`<g class="weights">` + "\n")
	for _, p := range []float64{0, 50, 100} {
		y := c.yWeight(p)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", plotRight, y, plotRight+4, y, WeightColor)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s" font-size="9">%.0f%%</text>`+"\n", plotRight+22, y+3, WeightColor, p)
	}
	var pts []string
	add := func(at time.Time, p int) { pts = append(pts, fmt.Sprintf("%.2f,%.2f", c.x(at), c.yWeight(float64(p)))) }
	prev := 0
	add(c.t.Start, 0)
	for _, w := range c.t.Weights {
		add(w.At, prev)
		add(w.At, w.Percent)
		prev = w.Percent
	}
	add(c.t.End, prev)
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), WeightColor)
	for _, w := range c.t.Weights {
		fmt.Fprintf(b, `<circle cx="%.2f" cy="%.2f" r="2.5" fill="%s"><title>%d%% at %.2fs</title></circle>`+"\n",
			c.x(w.At), c.yWeight(float64(w.Percent)), WeightColor, w.Percent, w.At.Sub(c.t.Start).Seconds())
	}
	b.WriteString("</g>\n")
}
