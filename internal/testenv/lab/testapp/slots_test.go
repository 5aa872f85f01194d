package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthySlots(t *testing.T) {
	dir := t.TempDir()
	getenv := func(env map[string]string) func(string) string {
		return func(k string) string { return env[k] }
	}
	two := getenv(map[string]string{"HEALTHY_SLOTS": "2", "HEALTHY_SLOTS_DIR": dir})

	slot, healthy, err := claimHealthySlot(two, "a")
	require.NoError(t, err)
	assert.Equal(t, 0, slot)
	assert.True(t, healthy)
	slot, healthy, err = claimHealthySlot(two, "b")
	require.NoError(t, err)
	assert.Equal(t, 1, slot)
	assert.True(t, healthy)
	slot, healthy, err = claimHealthySlot(two, "c")
	require.NoError(t, err)
	assert.Equal(t, -1, slot)
	assert.False(t, healthy, "the third container finds both slots taken")
	owner, err := os.ReadFile(filepath.Join(dir, "slot-1"))
	require.NoError(t, err)
	assert.Equal(t, "b\n", string(owner))

	_, healthy, err = claimHealthySlot(getenv(nil), "d")
	require.NoError(t, err)
	assert.True(t, healthy, "without HEALTHY_SLOTS every container may be healthy")

	_, _, err = claimHealthySlot(getenv(map[string]string{"HEALTHY_SLOTS": "1"}), "e")
	assert.ErrorContains(t, err, "needs HEALTHY_SLOTS_DIR")
	_, _, err = claimHealthySlot(getenv(map[string]string{"HEALTHY_SLOTS": "x", "HEALTHY_SLOTS_DIR": dir}), "e")
	assert.ErrorContains(t, err, `HEALTHY_SLOTS="x"`)
}
