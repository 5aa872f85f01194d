// Package compose knows how Docker Compose (v1 and v2) identifies the
// containers of a service, so that a container dswap creates belongs to the
// compose project as if compose had created it.
package compose

import (
	"fmt"
	"strconv"
	"strings"
)

// Labels Compose sets on every container it creates.
const (
	ProjectLabel         = "com.docker.compose.project"
	ServiceLabel         = "com.docker.compose.service"
	ContainerNumberLabel = "com.docker.compose.container-number"
	OneoffLabel          = "com.docker.compose.oneoff"
)

// Identity is a container's place in a compose project.
type Identity struct {
	Project string
	Service string
	Number  int
}

// FromLabels returns the compose identity in a container's labels, or
// false for a container compose did not create (or a one-off `run`).
func FromLabels(labels map[string]string) (Identity, bool) {
	project, service := labels[ProjectLabel], labels[ServiceLabel]
	if project == "" || service == "" || labels[OneoffLabel] == "True" {
		return Identity{}, false
	}
	n, _ := strconv.Atoi(labels[ContainerNumberLabel])
	return Identity{Project: project, Service: service, Number: n}, true
}

// Name is the container name compose gives to this identity. Compose v1
// joins with underscores, v2 with dashes; style follows an existing
// container's name so a project keeps one style.
func (id Identity) Name(likeName string) string {
	sep := "-"
	if strings.HasPrefix(likeName, id.Project+"_"+id.Service+"_") {
		sep = "_"
	}
	return fmt.Sprintf("%s%s%s%s%d", id.Project, sep, id.Service, sep, id.Number)
}

// WithNumber returns labels for a sibling container numbered n.
func WithNumber(labels map[string]string, n int) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	out[ContainerNumberLabel] = strconv.Itoa(n)
	return out
}

// NextNumber returns the lowest container number above all numbers in use,
// as compose does when it scales a service up.
func NextNumber(inUse []int) int {
	next := 1
	for _, n := range inUse {
		if n >= next {
			next = n + 1
		}
	}
	return next
}
