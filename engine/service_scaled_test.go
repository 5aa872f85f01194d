package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScaledChangesTheReplicaCountAndNothingElse(t *testing.T) {
	orig := SwarmServiceOf(stackService())
	scaled := orig.Scaled(2)
	assert.Equal(t, uint64(2), scaled.Replicas)
	got := specOf(t, scaled)
	require.NotNil(t, got.Mode.Replicated.Replicas)
	assert.Equal(t, uint64(2), *got.Mode.Replicated.Replicas)

	want := specOf(t, orig)
	require.Equal(t, uint64(3), *want.Mode.Replicated.Replicas, "the original is not changed")
	got.Mode = want.Mode
	assert.Equal(t, want, got, "only the replica count differs")
}
