package swap

import "github.com/dswap-dev/dswap/labels"

// decodeRouting decodes a container's traefik.* labels for the Traefik that
// runs. Every route dswap writes goes through here, so that a field the
// running Traefik does not know is refused before its file is written: one
// file Traefik cannot decode blocks the route changes of every service.
func (s *Swapper) decodeRouting(containerLabels map[string]string, service string, exposedPorts []int) (*labels.Routing, error) {
	return labels.DecodeTraefikFor(containerLabels, service, exposedPorts, s.TraefikVersion)
}
