package swap

import (
	"time"

	"github.com/dswap-dev/dswap/engine"
)

// containerOpt adjusts a test container.
type containerOpt func(*engine.Container)

func ctr(name, image string, opts ...containerOpt) *engine.Container {
	c := &engine.Container{
		ID: "id-" + name, Name: name, Image: image, ImageID: "sha256:" + image,
		Labels:   map[string]string{},
		State:    engine.State{Running: true, Status: "running"},
		Networks: map[string]engine.Endpoint{"appnet": {IPAddress: "10.0.0.2"}},
		Created:  time.Unix(1000, 0),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withLabel(k, v string) containerOpt { return func(c *engine.Container) { c.Labels[k] = v } }

func stopped() containerOpt {
	return func(c *engine.Container) { c.State = engine.State{Status: "exited"} }
}

func createdAt(sec int64) containerOpt {
	return func(c *engine.Container) { c.Created = time.Unix(sec, 0) }
}

func onNetworks(nets ...string) containerOpt {
	return func(c *engine.Container) {
		c.Networks = map[string]engine.Endpoint{}
		for i, n := range nets {
			c.Networks[n] = engine.Endpoint{IPAddress: "10.0." + string(rune('1'+i)) + ".2"}
		}
	}
}

func inCompose(project, service, number string) containerOpt {
	return func(c *engine.Container) {
		c.Labels["com.docker.compose.project"] = project
		c.Labels["com.docker.compose.service"] = service
		c.Labels["com.docker.compose.container-number"] = number
	}
}

func names(cs []*engine.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
