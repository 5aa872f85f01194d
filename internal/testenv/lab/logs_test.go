package lab

import (
	"context"
	"testing"

	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogsExplainUnreachableEngine checks that log helpers, which feed
// error messages, turn their own failures into a note instead of an error.
// Reading real logs is covered by TestAppsOnEngine.
func TestLogsExplainUnreachableEngine(t *testing.T) {
	docker, err := client.NewClientWithOpts(client.WithHost("unix:///nonexistent/docker.sock"), client.WithAPIVersionNegotiation())
	require.NoError(t, err)
	defer docker.Close()
	l := &Lab{Docker: docker, Prefix: "p"}

	assert.Contains(t, l.containerLogs(context.Background(), "0123456789abcdef", 10), "(could not read logs of 0123456789ab")
	assert.Equal(t, "(traefik was not started)", l.TraefikLogs(context.Background(), 10))
	l.TraefikID = "0123456789abcdef"
	assert.Contains(t, l.TraefikLogs(context.Background(), 10), "could not read logs")
}
