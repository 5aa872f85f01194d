package bench

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/loadgen"
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
	assert.Equal(t, csvHeader, rows[0])
	row := map[string]string{}
	for i, k := range rows[0] {
		row[k] = rows[1][i]
	}
	assert.Equal(t, "1.5000", row["whole_swap_s"])
	assert.Equal(t, "2", row["requests"])
	assert.Equal(t, "1", row["failed"])
	assert.Equal(t, "0.1000", row["healthy_to_traffic_s"])
	assert.Equal(t, "", row["ready_to_noticed_s"], "no ready time recorded: empty, not zero")
	assert.Equal(t, "24000000", row["max_rss_bytes"])
}
