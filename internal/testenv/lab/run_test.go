package lab

import (
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
)

func TestAppLabels(t *testing.T) {
	in := map[string]string{"app": "web", LabelKey: "someone-else"}
	got := appLabels(in, "p1")
	assert.Equal(t, map[string]string{"app": "web", LabelKey: "p1"}, got)
	assert.Equal(t, "someone-else", in[LabelKey], "the caller's map must not be modified")
	assert.Equal(t, map[string]string{LabelKey: "p1"}, appLabels(nil, "p1"))
}

func TestSummarize(t *testing.T) {
	got := summarize([]container.Summary{
		{ID: "2", Names: []string{"/p-web-b"}, Image: "p-app:v2", State: "running", Status: "Up 1 second (healthy)"},
		{ID: "1", Names: []string{"/p-web-a"}, Image: "p-app:v1", State: "exited", Status: "Exited (0)"},
		{ID: "3"},
	})
	assert.Equal(t, []Container{
		{ID: "3"},
		{ID: "1", Name: "p-web-a", Image: "p-app:v1", State: "exited", Status: "Exited (0)"},
		{ID: "2", Name: "p-web-b", Image: "p-app:v2", State: "running", Status: "Up 1 second (healthy)"},
	}, got)
}
