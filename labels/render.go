package labels

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ServerURLs returns, per Traefik service name, the server URLs that the file
// written for these targets contains, in order (e.g. "web": ["http://web-2:8080"]).
// dswap compares them with Traefik's API to confirm a flip.
func (r *Routing) ServerURLs(targets []Target) map[string][]string {
	out := make(map[string][]string, len(r.services))
	for name, svc := range r.services {
		urls := make([]string, 0, len(targets))
		for _, t := range targets {
			urls = append(urls, svc.serverURL(t))
		}
		out[name] = urls
	}
	return out
}

func (s *httpService) serverURL(t Target) string {
	// JoinHostPort brackets IPv6 addresses, as a URL requires.
	return s.scheme + "://" + net.JoinHostPort(t.Host, strconv.Itoa(s.port))
}

// File renders the complete file-provider YAML for these targets. service
// is the dswap service the file belongs to, as FindService takes it ("web",
// "shop/web"); it is recorded in the file (see FileOwner). The same
// input gives byte-identical output: maps are written with sorted keys and
// lists keep the order of the labels.
//
// An empty targets slice is allowed and renders every service with an empty
// server list. Traefik then answers 503 for the routes instead of 404: the
// routers stay in place, so the service is visibly down rather than
// unknown, and the next flip only has to change server lists. (A load
// balancer with no settings at all would not even decode, so the empty list
// is always written.)
func (r *Routing) File(service string, targets []Target) ([]byte, error) {
	for _, t := range targets {
		if err := checkHost(t.Host); err != nil {
			return nil, err
		}
	}

	services := make(map[string]any, len(r.services))
	for name, svc := range r.services {
		services[name] = map[string]any{"loadBalancer": svc.loadBalancerFor(targets)}
	}
	return r.encode(service, services)
}

// loadBalancerFor is the service's loadBalancer section with one server
// per target.
func (svc *httpService) loadBalancerFor(targets []Target) map[string]any {
	lb := make(map[string]any, len(svc.loadBalancer)+1)
	for k, v := range svc.loadBalancer {
		lb[k] = v
	}
	servers := make([]any, 0, len(targets))
	for _, t := range targets {
		server := map[string]any{"url": svc.serverURL(t)}
		if svc.weight != "" {
			server["weight"] = svc.weight
		}
		if svc.preservePath != "" {
			server["preservePath"] = svc.preservePath
		}
		servers = append(servers, server)
	}
	lb["servers"] = servers
	return lb
}

// encode writes the file with these services and the routing's routers
// and middlewares, and checks it as Traefik would read it.
func (r *Routing) encode(service string, services map[string]any) ([]byte, error) {
	httpConf := map[string]any{"services": services}
	if len(r.routers) > 0 {
		httpConf["routers"] = r.routers
	}
	if len(r.middlewares) > 0 {
		httpConf["middlewares"] = r.middlewares
	}

	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"http": httpConf}); err != nil {
		return nil, fmt.Errorf("rendering Traefik configuration for service %q: %w", service, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("rendering Traefik configuration for service %q: %w", service, err)
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "# Written by dswap for service %s. Do not edit by hand:\n", strconv.Quote(service))
	out.WriteString("# dswap rewrites this file on every swap.\n")
	fmt.Fprintf(&out, "%s%s\n", ownerPrefix, strconv.Quote(service))
	out.Write(body.Bytes())

	content := []byte(escapeTemplate(out.String()))
	// The last word on a file is Traefik's: one it cannot decode stops
	// every route file of the directory from applying, so such a file is
	// never handed to a writer.
	if err := CheckFile(routeFileName, content); err != nil {
		return nil, fmt.Errorf("the route file for service %q %w, which would then ignore every route change in its directory; nothing was written: %w", service, errTraefikRefuses, err)
	}
	return content, nil
}

// errTraefikRefuses marks a rendered file that CheckFile refused: the label
// checks let through something they should have named.
var errTraefikRefuses = errors.New("would be refused by Traefik")

// routeFileName stands for a route file's name in CheckFile, which only
// needs its extension.
const routeFileName = "dswap.yml"

// checkHost refuses hosts that would not make a valid server URL.
func checkHost(host string) error {
	if host == "" {
		return fmt.Errorf("target host is empty")
	}
	if strings.ContainsAny(host, " \t\r\n/?#@") {
		return fmt.Errorf("target host %q is not a container name or IP address", host)
	}
	return nil
}

// escapeTemplate protects the file from the file provider, which runs every
// file through Go's text/template before decoding it. Each "{{" becomes an
// action printing "{{", so a rule or header containing braces reaches
// Traefik as written. It works on the final text rather than on values
// because the YAML encoder may quote a value with escapes that the template
// parser would then see inside the action.
func escapeTemplate(text string) string {
	return strings.ReplaceAll(text, "{{", `{{"{{"}}`)
}
