package swap

import (
	"fmt"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// namer hands out names for new containers that no existing container
// holds, in the style of the service: compose-style numbered names for a
// compose service, else the base name or base-N.
type namer struct {
	taken   map[string]bool
	numbers []int // compose container numbers in use
}

func newNamer(all []*engine.Container, svc *Service) *namer {
	n := &namer{taken: map[string]bool{}}
	for _, c := range all {
		n.taken[c.Name] = true
	}
	for _, c := range append(append([]*engine.Container{}, svc.Running...), svc.Stopped...) {
		if id, ok := compose.FromLabels(c.Labels); ok {
			n.numbers = append(n.numbers, id.Number)
		}
	}
	return n
}

// next returns the new container's name and the labels that record it,
// given the container it replaces (nil for a first container).
func (n *namer) next(svc *Service, like *engine.Container, userLabels map[string]string) (string, map[string]string) {
	out := map[string]string{}
	for k, v := range userLabels {
		out[k] = v
	}
	if like != nil {
		if id, ok := compose.FromLabels(like.Labels); ok {
			id.Number = compose.NextNumber(n.numbers)
			n.numbers = append(n.numbers, id.Number)
			name := id.Name(like.Name)
			n.taken[name] = true
			return name, compose.WithNumber(out, id.Number)
		}
	}
	base := svc.Name
	if like != nil {
		base = like.Name
		if b := like.Labels[labels.NameLabel]; b != "" {
			base = b
		}
	}
	out[labels.NameLabel] = base
	name := base
	for i := 2; n.taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	n.taken[name] = true
	return name, out
}
