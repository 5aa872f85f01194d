package labels

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A canary splits each Traefik service of the route in two load balancers,
// "<name>-stable" (the containers that served before) and "<name>-canary"
// (the new ones), under a weighted round robin that keeps the service's
// own name, so the routers are untouched. Weighted round robin exists only
// in the file provider, which is why dswap can offer it with the Traefik
// the user already runs. Each child is a service of its own in Traefik's
// metrics, which is what the canary analysis reads.

// StableChild and CanaryChild name a service's two children.
func StableChild(service string) string { return service + "-stable" }

// CanaryChild names the child that holds the new containers.
func CanaryChild(service string) string { return service + "-canary" }

// Split is a route divided between two sets of containers.
type Split struct {
	Stable, Canary []Target
	// CanaryWeight is the canary's share in percent, 0 to 100; the stable
	// child gets the rest.
	CanaryWeight int
	// Sticky pins a client to the version it first reached, with a cookie
	// at both levels: the weighted service's picks the child, and each
	// child's picks the container (Traefik needs both).
	Sticky bool
}

// WeightedFile renders the route file of a canary: every service becomes a
// weighted round robin over its two children.
func (r *Routing) WeightedFile(service string, sp Split) ([]byte, error) {
	if sp.CanaryWeight < 0 || sp.CanaryWeight > 100 {
		return nil, fmt.Errorf("canary weight %d%% is not between 0 and 100", sp.CanaryWeight)
	}
	for _, t := range append(slices.Clone(sp.Stable), sp.Canary...) {
		if err := checkHost(t.Host); err != nil {
			return nil, err
		}
	}
	services := make(map[string]any, 3*len(r.services))
	for _, name := range slices.Sorted(maps.Keys(r.services)) {
		svc := r.services[name]
		stable, canary := svc.loadBalancerFor(sp.Stable), svc.loadBalancerFor(sp.Canary)
		weighted := map[string]any{"services": []any{
			map[string]any{"name": StableChild(name), "weight": 100 - sp.CanaryWeight},
			map[string]any{"name": CanaryChild(name), "weight": sp.CanaryWeight},
		}}
		if sp.Sticky {
			cookie := func(level string) map[string]any {
				return map[string]any{"cookie": map[string]any{"name": "dswap_" + sanitizeCookie(name) + "_" + level, "httpOnly": true}}
			}
			weighted["sticky"] = cookie("version")
			if _, own := svc.loadBalancer["sticky"]; !own {
				stable["sticky"], canary["sticky"] = cookie("server"), cookie("server")
			}
		}
		services[name] = map[string]any{"weighted": weighted}
		services[StableChild(name)] = map[string]any{"loadBalancer": stable}
		services[CanaryChild(name)] = map[string]any{"loadBalancer": canary}
	}
	return r.encode(service, services)
}

// WeightedServerURLs returns, per child service, the server URLs that
// WeightedFile writes for sp, for the confirmation through Traefik's API.
func (r *Routing) WeightedServerURLs(sp Split) map[string][]string {
	out := map[string][]string{}
	for name, svc := range r.services {
		for child, targets := range map[string][]Target{StableChild(name): sp.Stable, CanaryChild(name): sp.Canary} {
			urls := make([]string, 0, len(targets))
			for _, t := range targets {
				urls = append(urls, svc.serverURL(t))
			}
			out[child] = urls
		}
	}
	return out
}

// ChildNames lists every child service a canary file defines, stable and
// canary, in order.
func (r *Routing) ChildNames() (stable, canary []string) {
	for _, name := range r.ServiceNames() {
		stable = append(stable, StableChild(name))
		canary = append(canary, CanaryChild(name))
	}
	return stable, canary
}

// sanitizeCookie keeps the characters a cookie name may hold.
func sanitizeCookie(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// StableHosts are the hosts a route file routes to outside any canary
// child: for a canary's file, the containers that served before it. A
// canary left in place by a dswap that was killed is undone from this:
// its containers count as not routed, so the repair removes them and the
// old version gets all the traffic back. canary says whether the file was
// a canary's at all.
func (rf *RouteFile) StableHosts() (hosts []string, canary bool) {
	stable := &RouteFile{Servers: map[string][]string{}}
	for name, urls := range rf.Servers {
		if base, ok := strings.CutSuffix(name, "-canary"); ok && slices.Contains(rf.Services, StableChild(base)) {
			canary = true
			continue
		}
		stable.Servers[name] = urls
	}
	return stable.Hosts(), canary
}
