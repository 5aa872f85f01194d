package bench

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpawnMainRecordsTheChildsUsageAndExitCode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usage.json")
	assert.Equal(t, 0, SpawnMain([]string{file, "/bin/sh", "-c", "true"}))
	u, err := readUsage(file)
	require.NoError(t, err)
	assert.Positive(t, u.MaxRSS)

	assert.Equal(t, 3, SpawnMain([]string{file, "/bin/sh", "-c", "exit 3"}))
	assert.Equal(t, 125, SpawnMain([]string{file}))
}
