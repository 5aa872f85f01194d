package lab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTestappBuildEnv(t *testing.T) {
	got := testappBuildEnv([]string{"PATH=/bin", "CGO_ENABLED=1", "GOOS=darwin", "GOFLAGS=-mod=mod", "GOARCH=arm"})
	assert.Contains(t, got, "PATH=/bin")
	assert.Contains(t, got, "GOFLAGS=-mod=mod")
	assert.Contains(t, got, "CGO_ENABLED=0")
	assert.Contains(t, got, "GOOS=linux")
	assert.NotContains(t, got, "CGO_ENABLED=1")
	assert.NotContains(t, got, "GOOS=darwin")
	assert.NotContains(t, got, "GOARCH=arm")
}
