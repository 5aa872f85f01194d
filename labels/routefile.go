package labels

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// RouteFile is what a route file says, read back: the names it defines
// and the servers of each service. dswap reads its own files to learn which
// containers Traefik routes to (to finish an interrupted swap) and which
// names other services already use.
type RouteFile struct {
	Routers     []string
	Services    []string
	Middlewares []string
	// Servers maps each service to its server URLs.
	Servers map[string][]string
	// Generation is the write the file records (0 when it has no marker);
	// its marker middleware is not listed in Middlewares.
	Generation Generation
}

// ReadRouteFile parses a file-provider YAML file. Keys are matched without
// regard to case, as Traefik does.
func ReadRouteFile(content []byte) (*RouteFile, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, fmt.Errorf("route file is not YAML: %w", err)
	}
	rf := &RouteFile{Servers: map[string][]string{}}
	http := child(doc, "http")
	rf.Routers = keys(child(http, "routers"))
	for _, name := range keys(child(http, "middlewares")) {
		if !IsGenerationMarker(name) {
			rf.Middlewares = append(rf.Middlewares, name)
		}
	}
	rf.Generation = GenerationOf(content)
	services := child(http, "services")
	rf.Services = keys(services)
	for name, v := range services {
		svc, _ := v.(map[string]any)
		servers, _ := child(svc, "loadBalancer")["servers"].([]any)
		if lb := child(svc, "loadbalancer"); servers == nil && lb != nil {
			servers, _ = lb["servers"].([]any)
		}
		urls := []string{}
		for _, s := range servers {
			if m, ok := s.(map[string]any); ok {
				for k, u := range m {
					if strings.EqualFold(k, "url") {
						urls = append(urls, fmt.Sprint(u))
					}
				}
			}
		}
		rf.Servers[name] = urls
	}
	return rf, nil
}

// Hosts returns the host part of every server URL, without duplicates.
func (rf *RouteFile) Hosts() []string {
	seen := map[string]bool{}
	var out []string
	for _, urls := range rf.Servers {
		for _, raw := range urls {
			u, err := url.Parse(raw)
			if err != nil || u.Hostname() == "" || seen[u.Hostname()] {
				continue
			}
			seen[u.Hostname()] = true
			out = append(out, u.Hostname())
		}
	}
	sort.Strings(out)
	return out
}

// child returns m's value under key, matched without regard to case.
func child(m map[string]any, key string) map[string]any {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			if c, ok := v.(map[string]any); ok {
				return c
			}
		}
	}
	return nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
