package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveImageLeavesAPinnedReferenceAlone(t *testing.T) {
	ref := "127.0.0.1:5000/shopapp:v1@sha256:a04858787de4a04858787de4a04858787de4a04858787de4a04858787de4a048"
	got, err := (&Engine{}).ResolveImage(context.Background(), ref)
	require.NoError(t, err)
	assert.Equal(t, ref, got)
}
