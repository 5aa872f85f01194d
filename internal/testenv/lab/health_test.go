package lab

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
)

func TestDescribeState(t *testing.T) {
	end := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		state *container.State
		want  []string
	}{
		{
			name:  "unhealthy with probe output",
			state: &container.State{Status: "running", Running: true, Health: &container.Health{Status: container.Unhealthy, FailingStreak: 3, Log: []*container.HealthcheckResult{{End: end, ExitCode: 1, Output: "unhealthy: 503\n"}}}},
			want:  []string{"state running", "health unhealthy, failing streak 3", "2025-01-02T03:04:05Z exit 1: unhealthy: 503"},
		},
		{
			name:  "exited before any probe",
			state: &container.State{Status: "exited", ExitCode: 3, Health: &container.Health{Status: container.Starting}},
			want:  []string{"state exited (exit code 3)", "no health probe has finished yet"},
		},
		{
			name:  "no healthcheck",
			state: &container.State{Status: "running", Running: true},
			want:  []string{"state running"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeState(container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: tt.state}})
			for _, w := range tt.want {
				assert.Contains(t, got, w)
			}
		})
	}
	assert.Equal(t, "state unknown", describeState(container.InspectResponse{}))
}

func TestContainerName(t *testing.T) {
	named := container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{Name: "/p-web"}}
	assert.Equal(t, "p-web", containerName(named, "0123456789abcdef"))
	assert.Equal(t, "0123456789ab", containerName(container.InspectResponse{}, "0123456789abcdef"))
}
