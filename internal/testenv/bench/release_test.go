package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReleaseTable(t *testing.T) {
	results := make([][]releaseRun, len(releaseCases))
	results[0] = []releaseRun{{ExitCode: 0, Failed: 300, Requests: 3000, Exposed: 12 * time.Second, Total: 2 * time.Second}, {ExitCode: 0, Failed: 280, Requests: 2900, Exposed: 12500 * time.Millisecond, Total: 2500 * time.Millisecond}}
	results[1] = []releaseRun{{ExitCode: 1, RolledBack: true, Failed: 60, Requests: 2000, Exposed: 1500 * time.Millisecond, Total: 4 * time.Second}}
	results[2] = []releaseRun{{ExitCode: 1, RolledBack: true, Failed: 8, Requests: 2000, Exposed: 3 * time.Second, Total: 5 * time.Second}}
	tab := releaseTable(Options{Swaps: 2, Clients: 8}, results)
	require.Len(t, tab.Rows, 3, "cases without runs are left out")
	assert.Equal(t, []string{"bad v2", "plain swap", "0", "300 (280 to 300)", "3000", ">= 12.5s (not rolled back)", "2.5s (2.0s to 2.5s)"}, tab.Rows[0])
	assert.Equal(t, "1", tab.Rows[1][2])
	assert.Equal(t, "1.5s", tab.Rows[1][5])
	var b bytes.Buffer
	require.NoError(t, tab.WriteMarkdown(&b))
	assert.True(t, strings.Contains(b.String(), "| bad v2 | --canary 5%,50% --step 10s --max-error-rate 1% | 1 | 8 (8 to 8) |"), b.String())
	assert.Equal(t, "0 (x2), 1 (x1)", exitCell(map[int]int{0: 2, 1: 1}))
}
