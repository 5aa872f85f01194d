package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSystemdUnitVerifies checks the shipped unit with systemd-analyze
// verify, with only the binary's path changed to the dswap under test
// (verify refuses an ExecStart that is not executable), and that dswap
// takes the unit's command line.
func TestSystemdUnitVerifies(t *testing.T) {
	needSuite(t)
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		unavailable(t, "systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	unit, err := os.ReadFile("../contrib/systemd/dswap-keep.service")
	require.NoError(t, err)
	const shipped = "/usr/local/bin/dswap"
	require.Contains(t, string(unit), "ExecStart="+shipped+" keep")
	verify := func(content string) (string, error) {
		path := filepath.Join(t.TempDir(), "dswap-keep.service")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, analyze, "verify", path).CombinedOutput()
		return string(out), err
	}
	out, err := verify(strings.ReplaceAll(string(unit), shipped, suite.dswap))
	assert.NoError(t, err, "systemd-analyze verify: %s", out)
	t.Logf("systemd-analyze verify: exit 0 %s", out)
	broken, err := verify(strings.ReplaceAll(strings.ReplaceAll(string(unit), shipped, suite.dswap), "Type=simple", "Type=bogus"))
	assert.Contains(t, broken, "Failed to parse service type", "verify must catch a broken unit, or this test proves nothing (%v)", err)

	var execStart []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	help := runDswap(t, append(execStart[1:], "--help")...)
	assert.Equal(t, 0, help.code, "dswap does not take the unit's command line: %s", help.stderr)
}
