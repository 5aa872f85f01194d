package bench

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// csvHeader names the per-swap columns of the CSV files.
var csvHeader = []string{
	"swap", "from", "to", "ok", "start", "whole_swap_s", "requests", "failed", "hung",
	"p50_s", "p99_s", "max_s", "mixed_by_answer_s", "mixed_by_send_s",
	"healthy_to_traffic_s", "ready_to_noticed_s", "max_rss_bytes", "cpu_s",
}

// writeCSV writes one row per swap, so that trends across a long run (is
// the tenth swap slower than the first?) can be looked at; the tables only
// show medians and ranges.
func writeCSV(w io.Writer, g *Group) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 4, 64) }
	opt := func(d time.Duration, ok bool) string {
		if !ok {
			return ""
		}
		return secs(d)
	}
	for i, s := range g.Swaps {
		m := g.Metrics[i]
		rss, cpu := "", ""
		if s.HasUsage {
			rss, cpu = strconv.FormatInt(s.MaxRSS, 10), secs(s.CPU)
		}
		row := []string{
			strconv.Itoa(i + 1), s.From, s.To, strconv.FormatBool(s.Err == nil), s.Start.UTC().Format(time.RFC3339Nano), secs(s.Duration()),
			strconv.Itoa(m.Requests), strconv.Itoa(m.Failed), strconv.Itoa(m.Hung),
			secs(m.Latency.P50), secs(m.Latency.P99), secs(m.Latency.Max), secs(m.MixedAnswers), secs(m.MixedSent),
			opt(m.HealthyToTraffic, m.HasTraffic), opt(m.ReadyToHealthy, m.HasReady), rss, cpu,
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeCSVFile writes the group's CSV next to its timeline.
func writeCSVFile(dir string, g *Group) (string, error) {
	path := filepath.Join(dir, g.Scenario.Name+"-"+g.Strategy.Slug+".csv")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("writing per-swap CSV: %w", err)
	}
	if err := writeCSV(f, g); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
