package bench

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

func TestWriteCSV(t *testing.T) {
	g := &Group{
		Scenario: Scenarios[0], Strategy: Strategies[0],
		Swaps: []Swap{{From: "v1", To: "v2", Start: ms(0), End: ms(1500), HealthyAt: ms(500), HasUsage: true, MaxRSS: 24_000_000, CPU: 50 * time.Millisecond,
			Load: Window{From: ms(-500), To: ms(4000)}, Results: []loadgen.Result{req(600, 650, "v2"), req(700, 720, "")}}},
	}
	measureGroup(g)
	var b strings.Builder
	require.NoError(t, writeCSV(&b, g))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	// The columns are an interface (spreadsheets, scripts), so they are
	// spelled out here rather than read from csvHeader: a column removed
	// or renamed must fail this test.
	assert.Equal(t, []string{
		"swap", "from", "to", "ok", "start", "whole_swap_s", "requests", "failed", "hung",
		"p50_s", "p99_s", "max_s", "mixed_by_answer_s", "mixed_by_send_s",
		"healthy_to_traffic_s", "ready_to_noticed_s", "max_rss_bytes", "cpu_s",
	}, rows[0])
	require.Len(t, rows[1], len(rows[0]), "one value per column")
	row := map[string]string{}
	for i, k := range rows[0] {
		row[k] = rows[1][i]
	}
	assert.Equal(t, map[string]string{
		"swap": "1", "from": "v1", "to": "v2", "ok": "true", "start": ms(0).UTC().Format(time.RFC3339Nano),
		"whole_swap_s": "1.5000", "requests": "2", "failed": "1", "hung": "0",
		"p50_s": "0.0200", "p99_s": "0.0500", "max_s": "0.0500", "mixed_by_answer_s": "0.0000", "mixed_by_send_s": "0.0000",
		"healthy_to_traffic_s": "0.1000",
		"ready_to_noticed_s":   "", // no ready time recorded: empty, not zero
		"max_rss_bytes":        "24000000", "cpu_s": "0.0500",
	}, row)
}
