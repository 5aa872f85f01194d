// Package report draws the SVG timeline of one swap (dswap up --report):
// the swap's phases from its own record and, when Traefik's Prometheus
// metrics answer, the request rate of the swapped service.
package report

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/timeline"
	"github.com/dswap-dev/dswap/traefik"
)

// Report draws a swap's timeline once it is over. A nil *Report (no
// --report) does nothing.
type Report struct {
	path    string
	log     *slog.Logger
	api     *traefik.API
	sampler *traefik.Sampler
	start   time.Time
}

// Start starts polling Traefik's metrics at metricsURL for the report to
// write to path, when path is not empty. api is Traefik's API, asked which
// services the swap routed; without it or without metricsURL the report
// shows the phases only (and a canary's weights).
func Start(ctx context.Context, path string, api *traefik.API, metricsURL string, log *slog.Logger) *Report {
	if path == "" {
		return nil
	}
	r := &Report{path: path, log: log, start: time.Now()}
	if api != nil && metricsURL != "" {
		r.api = api
		r.sampler = traefik.StartSampler(ctx, metricsURL, traefik.SampleEvery)
	}
	return r
}

// Finish stops the sampler and writes the picture. A report is a by-product:
// failing to write it is logged, never turned into the swap's exit code.
func (r *Report) Finish(ctx context.Context, res *swap.Result) {
	if r == nil {
		return
	}
	end := time.Now()
	var samples []traefik.MetricsSample
	metricsErr := fmt.Errorf("dswap has no Traefik API address to find its metrics")
	if r.sampler != nil {
		samples, metricsErr = r.sampler.Stop()
	}
	if res == nil || len(res.Steps) == 0 {
		r.log.Warn("no report written: the swap did not complete", "file", r.path)
		return
	}
	var services []string
	if metricsErr == nil {
		services = r.pickServices(ctx, res, samples)
	}
	tl := reportTimeline(res, samples, services, metricsErr, r.start, end)
	if err := writeSVG(r.path, tl); err != nil {
		r.log.Warn("could not write the report", "file", r.path, "error", err)
		return
	}
	r.log.Info("report written", "file", r.path)
}

// pickServices chooses the Traefik services that belong to the swapped
// service: those whose servers now name a new container; failing that,
// "<service>@file"; failing that, every file-provider service whose counter
// moved during the swap.
func (r *Report) pickServices(ctx context.Context, res *swap.Result, samples []traefik.MetricsSample) []string {
	var out []string
	if rt, err := r.api.Runtime(context.WithoutCancel(ctx)); err == nil {
		for name, svc := range rt.Services {
			for _, u := range svc.ServerURLs() {
				for _, c := range res.New {
					if strings.Contains(u, "//"+c+":") {
						out = append(out, name)
					}
				}
			}
		}
	}
	if len(out) == 0 && len(samples) > 0 {
		if _, ok := samples[len(samples)-1].Requests[res.Service+"@file"]; ok {
			out = []string{res.Service + "@file"}
		}
	}
	if len(out) == 0 && len(samples) > 1 {
		first, last := samples[0], samples[len(samples)-1]
		for name, v := range last.Requests {
			if strings.HasSuffix(name, "@file") && v > first.Requests[name] {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return compactStrings(out)
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// phaseMarks turns the recorded phase entries into labelled marks. Each
// step is the entry into a phase, which is also the end of the previous
// one, so the labels name both where that helps.
func phaseMarks(steps []swap.Step) []timeline.Mark {
	names := map[swap.Phase]string{
		swap.PhasePlan:   "dswap up",
		swap.PhaseCreate: "create",
		swap.PhaseHealth: "start, wait for health",
		swap.PhaseFlip:   "healthy: flip",
		swap.PhaseDrain:  "flipped: SIGTERM old",
		swap.PhaseRemove: "old exited: remove",
		swap.PhaseDone:   "done",
	}
	marks := make([]timeline.Mark, 0, len(steps))
	for _, s := range steps {
		name, ok := names[s.Phase]
		if !ok {
			name = s.Phase.String()
		}
		marks = append(marks, timeline.Mark{Name: name, At: s.At})
	}
	return marks
}

// requestBuckets turns counter samples into requests per interval for the
// chosen services: each bucket starts at a sample and holds the increase
// until the next one. A counter that went down (Traefik restarted) counts
// as zero.
func requestBuckets(samples []traefik.MetricsSample, services []string) []timeline.Bucket {
	sum := func(m map[string]float64) float64 {
		var t float64
		for _, s := range services {
			t += m[s]
		}
		return t
	}
	var out []timeline.Bucket
	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		n := max(sum(cur.Requests)-sum(prev.Requests), 0)
		f := max(sum(cur.Failed)-sum(prev.Failed), 0)
		out = append(out, timeline.Bucket{
			Start:     prev.At,
			Width:     cur.At.Sub(prev.At),
			ByVersion: map[string]int{requestsSeries: int(n - f)},
			Failed:    int(f),
		})
	}
	return out
}

// requestsSeries names the bars: they are not per version.
const requestsSeries = "answered by the service (any version)"

// reportTimeline assembles the picture of a finished swap.
func reportTimeline(res *swap.Result, samples []traefik.MetricsSample, services []string, metricsErr error, start, end time.Time) timeline.Timeline {
	marks := phaseMarks(res.Steps)
	from, to := start, end
	for _, m := range marks {
		if m.At.Before(from) {
			from = m.At
		}
		if m.At.After(to) {
			to = m.At
		}
	}
	tl := timeline.Timeline{
		Title: fmt.Sprintf("dswap up: service %s, %s → %s", res.Service, orNothing(res.FromImage), res.ToImage),
		// The axis starts with the swap so that labels read as seconds
		// since `dswap up`; the end gets a margin for the last label.
		Start: from,
		End:   to.Add(200 * time.Millisecond),
		Width: traefik.SampleEvery,
		Marks: marks,
	}
	if len(res.Weights) > 0 {
		tl.Title = fmt.Sprintf("dswap up --canary: service %s, %s → %s", res.Service, orNothing(res.FromImage), res.ToImage)
		if metricsErr == nil {
			canaryTimeline(&tl, res, samples, services)
			if len(services) > 0 {
				return tl
			}
		} else {
			canaryTimeline(&tl, res, nil, nil)
		}
	}
	switch {
	case metricsErr != nil:
		tl.Note = fmt.Sprintf("Phases from dswap's own record. No request rate: Traefik's Prometheus metrics could not be read (%v); start Traefik with --metrics.prometheus=true to get one.", metricsErr)
	case len(services) == 0:
		tl.Note = "Phases from dswap's own record. No request rate: no Traefik service of this swap showed up in Traefik's metrics (traefik_service_requests_total)."
	default:
		tl.Buckets = requestBuckets(samples, services)
		tl.YLabel = "requests per sample (~100 ms)"
		tl.Colors = map[string]string{requestsSeries: "#4e79a7"}
		tl.Note = fmt.Sprintf("Phases from dswap's own record. Bars: requests Traefik completed for %s, from traefik_service_requests_total sampled every %s (red: 5xx). Traefik counts requests per service, not per server, so old and new versions cannot be told apart here.",
			strings.Join(services, ", "), traefik.SampleEvery)
	}
	return tl
}

func orNothing(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}

// writeSVG renders tl into path.
func writeSVG(path string, tl timeline.Timeline) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := timeline.Render(f, tl); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
