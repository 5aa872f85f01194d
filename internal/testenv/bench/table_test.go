package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleTable() Table {
	return Table{
		Title:  "scenario 50ms · strategy dswap",
		Notes:  []string{"note one"},
		Header: []string{"metric", "median", "min–max"},
		Rows: [][]string{
			{"failed", "0", "0–0"},
			{"latency p99 | tail", "64ms", "58ms–70ms"},
			{"short"},
		},
	}
}

func TestTableWriteTextAligns(t *testing.T) {
	var b strings.Builder
	require.NoError(t, sampleTable().WriteText(&b))
	want := "" +
		"scenario 50ms · strategy dswap\n" +
		"  note one\n" +
		"metric              median  min–max\n" +
		"------------------  ------  ---------\n" +
		"failed              0       0–0\n" +
		"latency p99 | tail  64ms    58ms–70ms\n" +
		"short\n"
	assert.Equal(t, want, b.String(), "columns are padded by runes, so the en dash does not shift them")
}

func TestTableWriteMarkdown(t *testing.T) {
	var b strings.Builder
	require.NoError(t, sampleTable().WriteMarkdown(&b))
	want := "" +
		"### scenario 50ms · strategy dswap\n\n" +
		"note one  \n\n" +
		"| metric | median | min–max |\n" +
		"|---|---|---|\n" +
		"| failed | 0 | 0–0 |\n" +
		"| latency p99 \\| tail | 64ms | 58ms–70ms |\n" +
		"| short |  |  |\n\n"
	assert.Equal(t, want, b.String())
}

func TestFormatters(t *testing.T) {
	assert.Equal(t, "0", fmtSeconds(0))
	assert.Equal(t, "4.2ms", fmtSeconds(0.0042))
	assert.Equal(t, "119ms", fmtSeconds(0.1194))
	assert.Equal(t, "-80ms", fmtSeconds(-0.08))
	assert.Equal(t, "1.01s", fmtSeconds(1.0093))
	assert.Equal(t, "30.00s", fmtSeconds(30.0004))
	assert.Equal(t, "522.5", fmtCount(522.5))
	assert.Equal(t, "3", fmtCount(3))
	assert.Equal(t, "23.8 MB", fmtMB(23.8e6))
	assert.Equal(t, "n/a", rangeOf(Spread{}, fmtCount))
	assert.Equal(t, "1–4", rangeOf(Spread{N: 2, Min: 1, Max: 4}, fmtCount))
	assert.Equal(t, "met", verdict(true, true))
	assert.Equal(t, "MISSED", verdict(false, true))
	assert.Equal(t, "n/a", verdict(true, false))
}
