package traefik

import (
	"context"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
)

// ProjectDocker is what finding Traefik in a compose project needs.
type ProjectDocker interface {
	Lister
	Inspect(ctx context.Context, id string) (*engine.Container, error)
}

// InProject returns the name of the Traefik container of the compose
// project that container self belongs to, if there is exactly one; "" when
// self is in no project, or none or several look like Traefik. A sidecar
// uses it so that other Traefiks on the Engine do not count.
func InProject(ctx context.Context, docker ProjectDocker, self string) string {
	me, err := docker.Inspect(ctx, self)
	if err != nil {
		return ""
	}
	project := me.Labels[compose.ProjectLabel]
	if project == "" {
		return ""
	}
	cs, err := docker.List(ctx, engine.ListFilter{Labels: []string{compose.ProjectLabel + "=" + project}})
	if err != nil {
		return ""
	}
	var found []string
	for _, c := range cs {
		if c.ID != me.ID && LooksLikeTraefik(c) {
			found = append(found, c.Name)
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}
