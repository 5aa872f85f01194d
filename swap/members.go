package swap

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// A container joins a service by its labels alone (dswap.service, or the
// compose labels of a project's service), so any container on the Engine
// can claim to be part of any service. Were it simply routed, a container
// with dswap.service=web would get its own server into web's route and, as
// the newest, its labels would replace web's routers and middlewares
// (dropping an auth middleware, say). So a running container takes part in
// the service's routing only if its routing agrees with the service's
// current routing, as follows.
//
//   - The current routing is what the route file records: the routing of
//     the newest running container the route file points at. Those
//     containers are members whatever their labels: dswap (or the user,
//     through it) routed them. During a rolling swap old and new
//     containers are both routed and legitimately differ; the route file
//     carries the newest's routing, which is the new one.
//   - Any other running container is a member only if its labels describe
//     the same routing (the same file, servers apart), e.g. a replica added
//     by `docker compose up --scale`, or a container recreated by compose
//     with the name the route file uses.
//   - A container a swap created (or replaced) but never routed is a member
//     for the repair of the interrupted swap, which stops and removes it; it
//     is never routed as such.
//   - When the route file points at no running container (a service not yet
//     adopted, or recreated with new addresses), there is no current
//     routing to hold on to: the running containers must all agree, or the
//     service is a conflict and nothing of it is routed.
//
// A container that does not agree is a conflict: reported, not routed, and
// never stopped or removed, since dswap does not know whose it is.

// members is how a service's running containers split.
type members struct {
	// joined are the running containers that take part, oldest first.
	joined []*engine.Container
	// conflicting are the running containers whose routing differs.
	conflicting []*engine.Container
	// source is the container whose labels give the routing (nil when
	// nothing runs).
	source *engine.Container
}

// splitMembers applies the rule above to running (oldest first). routed says
// whether the route file points at a container; leftover whether a swap
// created or replaced it; fingerprint gives a container's routing in a form
// that is equal exactly when the routing is.
func splitMembers(running []*engine.Container, routed, leftover func(*engine.Container) bool, fingerprint func(*engine.Container) string) (members, error) {
	var m members
	for i := len(running) - 1; i >= 0; i-- {
		if routed(running[i]) {
			m.source = running[i]
			break
		}
	}
	if m.source == nil && len(running) > 0 {
		// Nothing routed runs: every container must agree.
		first := fingerprint(running[0])
		for _, c := range running[1:] {
			if fingerprint(c) != first {
				return m, badInput("the running containers of the service carry different Traefik labels (%s), and its route file points at none of them, so dswap cannot tell which routing is the service's; nothing was routed. Remove the containers that do not belong (or give them their own dswap.service label), then try again",
					describeFingerprints(running, fingerprint))
			}
		}
		m.source = running[len(running)-1]
	}
	if m.source == nil {
		return m, nil
	}
	want := fingerprint(m.source)
	for _, c := range running {
		if routed(c) || leftover(c) || fingerprint(c) == want {
			m.joined = append(m.joined, c)
		} else {
			m.conflicting = append(m.conflicting, c)
		}
	}
	return m, nil
}

// describeFingerprints groups container names by routing, for messages.
func describeFingerprints(cs []*engine.Container, fingerprint func(*engine.Container) string) string {
	var order []string
	groups := map[string][]string{}
	for _, c := range cs {
		f := fingerprint(c)
		if _, ok := groups[f]; !ok {
			order = append(order, f)
		}
		groups[f] = append(groups[f], c.Name)
	}
	parts := make([]string, 0, len(order))
	for _, f := range order {
		parts = append(parts, strings.Join(groups[f], ", "))
	}
	return strings.Join(parts, " differ from ")
}

// routingFingerprint is the route file a container's labels give, without
// servers: equal for two containers exactly when they route alike.
func routingFingerprint(svc *Service, c *engine.Container) string {
	r, err := labels.DecodeTraefik(c.Labels, svc.Name, c.ExposedPorts)
	if err != nil {
		return "invalid: " + err.Error()
	}
	b, err := r.File(svc.Ref(), nil)
	if err != nil {
		return "invalid: " + err.Error()
	}
	return string(b)
}

// admit narrows svc.Running to the containers that take part in the
// service's routing, and logs the others. The route file decides what is
// routed now, so it is read here.
func (s *Swapper) admit(svc *Service) error {
	if len(svc.Running) == 0 {
		return nil
	}
	d, err := s.Inspect(svc)
	if err != nil {
		return err
	}
	routed := func(c *engine.Container) bool { return slices.Contains(d.Routed, c) }
	leftover := func(c *engine.Container) bool {
		return c.Labels[labels.CreatedByLabel] == labels.CreatedByValue || previousOfAny(c.Name, d.Routed)
	}
	fingerprints := map[*engine.Container]string{}
	fingerprint := func(c *engine.Container) string {
		f, ok := fingerprints[c]
		if !ok {
			f = routingFingerprint(svc, c)
			fingerprints[c] = f
		}
		return f
	}
	m, err := splitMembers(svc.Running, routed, leftover, fingerprint)
	if err != nil {
		return fmt.Errorf("service %s: %w", svc.Ref(), err)
	}
	if len(m.conflicting) > 0 {
		s.log.Warn("containers claim this service but their Traefik labels differ from its current routing; they are not routed, stopped or removed: give them their own service (dswap.service) or the service's labels",
			"phase", s.phase.String(), "service", svc.Ref(), "conflicting", strings.Join(containerNames(m.conflicting), ","), "routing from", m.source.Name)
	}
	svc.Running, svc.Conflicting, svc.RoutingSource = m.joined, m.conflicting, m.source
	return nil
}
