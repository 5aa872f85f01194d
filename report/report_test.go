package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/timeline"
	"github.com/dswap-dev/dswap/traefik"
)

var r0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func rat(ms int) time.Time { return r0.Add(time.Duration(ms) * time.Millisecond) }

func finishedSwap() *swap.Result {
	return &swap.Result{
		Service: "web", FromImage: "app:v1", ToImage: "app:v2", Old: []string{"web-1"}, New: []string{"web-2"},
		Steps: []swap.Step{
			{Phase: swap.PhasePlan, At: rat(0)},
			{Phase: swap.PhaseCreate, At: rat(50)},
			{Phase: swap.PhaseHealth, At: rat(100)},
			{Phase: swap.PhaseFlip, At: rat(700)},
			{Phase: swap.PhaseDrain, At: rat(800)},
			{Phase: swap.PhaseRemove, At: rat(1000)},
			{Phase: swap.PhaseDone, At: rat(1020)},
		},
	}
}

func TestPhaseMarks(t *testing.T) {
	marks := phaseMarks(finishedSwap().Steps)
	require.Len(t, marks, 7)
	assert.Equal(t, timeline.Mark{Name: "healthy: flip", At: rat(700)}, marks[3])
	assert.Equal(t, timeline.Mark{Name: "flipped: SIGTERM old", At: rat(800)}, marks[4])
	assert.Equal(t, "rollback", phaseMarks([]swap.Step{{Phase: swap.PhaseRollback}})[0].Name)
}

func sample(ms int, ok, failed float64) traefik.MetricsSample {
	return traefik.MetricsSample{At: rat(ms),
		Requests: map[string]float64{"web@file": ok + failed, "other@file": 1000 + float64(ms)},
		Failed:   map[string]float64{"web@file": failed}}
}

func TestRequestBuckets(t *testing.T) {
	samples := []traefik.MetricsSample{sample(0, 100, 0), sample(100, 116, 0), sample(200, 130, 2), sample(300, 0, 0)}
	got := requestBuckets(samples, []string{"web@file"})
	require.Len(t, got, 3)
	assert.Equal(t, rat(0), got[0].Start)
	assert.Equal(t, 100*time.Millisecond, got[0].Width, "each bar is as wide as its sample interval")
	assert.Equal(t, 16, got[0].ByVersion[requestsSeries])
	assert.Equal(t, 14, got[1].ByVersion[requestsSeries], "16 more requests, 2 of them 5xx")
	assert.Equal(t, 2, got[1].Failed)
	assert.Equal(t, 0, got[2].Total(), "a counter reset counts as nothing, not as a negative bar")
}

func TestReportTimeline(t *testing.T) {
	res := finishedSwap()
	samples := []traefik.MetricsSample{sample(-100, 100, 0), sample(0, 110, 0), sample(100, 125, 0)}
	tl := reportTimeline(res, samples, []string{"web@file"}, nil, rat(-150), rat(1100))
	assert.Equal(t, "dswap up: service web, app:v1 → app:v2", tl.Title)
	assert.Equal(t, rat(-150), tl.Start)
	assert.True(t, tl.End.After(rat(1100)))
	assert.Len(t, tl.Buckets, 2)
	assert.Contains(t, tl.Note, "per service, not per server")

	noMetrics := reportTimeline(res, nil, nil, errors.New("connection refused"), rat(0), rat(1100))
	assert.Empty(t, noMetrics.Buckets)
	assert.Contains(t, noMetrics.Note, "connection refused")
}

func TestWriteSVGIsWellFormed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swap.svg")
	res := finishedSwap()
	require.NoError(t, writeSVG(path, reportTimeline(res, nil, nil, errors.New("no API"), rat(0), rat(1100))))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := xml.NewDecoder(bytes.NewReader(data))
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			texts = append(texts, strings.TrimSpace(string(cd)))
		}
	}
	assert.Contains(t, texts, "flipped: SIGTERM old 0.80s")
}

func TestNilReportIsInert(t *testing.T) {
	var r *Report
	assert.NotPanics(t, func() { r.Finish(t.Context(), finishedSwap()) })
}
