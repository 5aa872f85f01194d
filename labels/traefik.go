// Package labels reads the labels of a container: the traefik.* labels that
// describe its HTTP routing, which dswap turns into Traefik file-provider
// configuration pointing at the containers it chooses, and dswap's own
// dswap.* settings.
//
// Users keep writing ordinary Traefik docker-provider labels. dswap decodes
// them with the same library Traefik uses (paerser), applies the docker
// provider's defaults (default service, default port, router-to-service
// linking), and checks everything Traefik would check while decoding,
// because one undecodable file makes Traefik reject the whole file provider
// update.
package labels

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/traefik/paerser/parser"
)

// Routing is the Traefik HTTP configuration that one service's labels describe.
type Routing struct {
	// routers and middlewares hold the YAML trees written to the file, keyed
	// by name. Routers always carry their service.
	routers     map[string]map[string]any
	middlewares map[string]map[string]any
	services    map[string]*httpService
	warnings    []string
}

// httpService is one Traefik load-balancer service. Its servers are not
// known at decode time: File and ServerURLs add one per target.
type httpService struct {
	// loadBalancer holds the load-balancer settings other than servers.
	loadBalancer map[string]any
	scheme       string
	port         int
	// weight and preservePath are the label values as written, "" when unset.
	weight       string
	preservePath string
}

// Target is one container a route may point at.
type Target struct {
	Host string // container name on a network shared with Traefik, or an IP
}

// middlewareTypes lists the middleware types labels may use, for messages.
var middlewareTypes = fieldNames(reflect.TypeOf(middlewareConfig{}))

// decodeTraefik reads the traefik.* labels of a container. service is dswap's
// service name (used to name the default Traefik service); exposedPorts are
// the container's exposed TCP ports (for the default server port).
//
// traefik.enable and traefik.docker.* are ignored: they steer the docker
// provider, which must not route a dswap service. TCP, UDP and TLS-store
// labels are refused, since dswap only writes HTTP configuration.
func decodeTraefik(containerLabels map[string]string, service string, exposedPorts []int) (*Routing, error) {
	httpLabels, err := selectHTTPLabels(containerLabels)
	if err != nil {
		return nil, err
	}
	if len(httpLabels) == 0 {
		return nil, errors.New("the container has no traefik.http.* labels: add at least traefik.http.routers.<name>.rule (and traefik.http.services.<name>.loadbalancer.server.port if it exposes several ports)")
	}

	for key := range httpLabels {
		if err := checkLabelKey(key); err != nil {
			return nil, err
		}
	}
	set, err := newLabelSet(httpLabels)
	if err != nil {
		return nil, err
	}

	root, err := parser.DecodeToNode(httpLabels, parser.DefaultRootName)
	if err != nil {
		return nil, fmt.Errorf("decoding traefik labels: %w", err)
	}

	r := &Routing{
		routers:     map[string]map[string]any{},
		middlewares: map[string]map[string]any{},
		services:    map[string]*httpService{},
	}
	w := walker{labels: set}

	// selectHTTPLabels kept only traefik.http.* keys, so the root has a
	// single child, named as the first key spelled it.
	httpNode := root.Children[0]
	httpPath := []string{root.Name, httpNode.Name}
	if len(httpNode.Children) == 0 {
		return nil, fmt.Errorf("label %q has no effect: write traefik.http.routers.<name>.rule and similar labels instead", set.keyAt(httpPath))
	}
	for _, group := range httpNode.Children {
		p := childPath(httpPath, group.Name)
		if len(group.Children) == 0 {
			return nil, fmt.Errorf("label %q: %q needs a name and settings, e.g. %s.<name>.<setting>", set.keyAt(p), group.Name, joinPath(p))
		}
		switch strings.ToLower(group.Name) {
		case "routers":
			err = r.decodeRouters(w, group, p)
		case "services":
			err = r.decodeServices(w, group, p)
		case "middlewares":
			err = r.decodeMiddlewares(w, group, p)
		default:
			err = fmt.Errorf("label %q: dswap reads routers, services and middlewares under traefik.http, not %q", set.keyAt(p), group.Name)
		}
		if err != nil {
			return nil, err
		}
	}

	// The walker checked each label; decoding the whole set with paerser into
	// the schema, as Traefik does, guards against a gap between the two.
	var typed dynamicConfig
	if err := parser.Decode(httpLabels, &typed, parser.DefaultRootName); err != nil {
		return nil, fmt.Errorf("decoding traefik labels: %w", err)
	}

	if err := r.addDefaultService(service); err != nil {
		return nil, err
	}
	if err := r.resolveServerPorts(exposedPorts, httpPath); err != nil {
		return nil, err
	}
	if err := r.linkRouters(typed.HTTP, set, httpPath); err != nil {
		return nil, err
	}
	if err := r.checkMiddlewareReferences(typed.HTTP, set, httpPath); err != nil {
		return nil, err
	}

	// Render once now, so that labels giving a file Traefik would refuse
	// stop a swap while planning, before any container starts. The target
	// only fills in server URLs, which do not affect what Traefik accepts.
	if _, err := r.File(service, []Target{{Host: "check"}}); err != nil {
		return nil, err
	}

	sort.Strings(r.warnings)
	return r, nil
}

// selectHTTPLabels keeps the traefik.http.* labels and refuses the traefik.*
// labels dswap cannot honour.
func selectHTTPLabels(containerLabels map[string]string) (map[string]string, error) {
	keys := make([]string, 0, len(containerLabels))
	for key := range containerLabels {
		keys = append(keys, key)
	}
	// Sorting makes the reported label the same on every run when several
	// are wrong.
	sort.Strings(keys)

	httpLabels := map[string]string{}
	for _, key := range keys {
		fold := strings.ToLower(key)
		if fold != "traefik" && !strings.HasPrefix(fold, "traefik.") {
			continue
		}

		segments := strings.SplitN(fold, ".", 3)
		second := ""
		if len(segments) > 1 {
			second = segments[1]
		}
		switch second {
		case "enable", "docker":
			continue
		case "tcp", "udp":
			return nil, fmt.Errorf("label %q: dswap does not route TCP/UDP yet; remove the label or route this service without dswap", key)
		case "tls":
			return nil, fmt.Errorf("label %q: dswap does not write TLS stores; configure them in Traefik's own dynamic configuration", key)
		case "http":
		default:
			return nil, fmt.Errorf("label %q is not a Traefik v3 HTTP label: dswap reads traefik.http.routers, traefik.http.services and traefik.http.middlewares (and ignores traefik.enable and traefik.docker.*)", key)
		}

		// paerser matches the root name exactly; Traefik would reject the
		// whole container for "Traefik.http...".
		if !strings.HasPrefix(key, parser.DefaultRootName+".") {
			return nil, fmt.Errorf("label %q: Traefik only reads labels starting with lowercase \"traefik.\"", key)
		}
		if err := checkKeySyntax(key); err != nil {
			return nil, err
		}
		httpLabels[key] = containerLabels[key]
	}

	return httpLabels, nil
}

func (r *Routing) decodeRouters(w walker, group *parser.Node, path []string) error {
	routerType := reflect.TypeOf(routerConfig{})
	for _, n := range group.Children {
		p := childPath(path, n.Name)
		if len(n.Children) == 0 {
			return fmt.Errorf("label %q: a router needs settings, e.g. %s.rule=Host(`example.com`)", w.labels.keyAt(p), joinPath(p))
		}
		v, _, err := w.section(n, p, routerType, false)
		if err != nil {
			return err
		}
		r.routers[n.Name] = v.(map[string]any)
	}
	return nil
}

func (r *Routing) decodeServices(w walker, group *parser.Node, path []string) error {
	serviceType := reflect.TypeOf(labelServiceConfig{})
	for _, n := range group.Children {
		p := childPath(path, n.Name)
		v, _, err := w.section(n, p, serviceType, false)
		if err != nil {
			return err
		}

		// loadBalancer is the only service setting labels have, so the
		// walker guarantees it is the single child.
		lbPath := childPath(p, n.Children[0].Name)
		lb := v.(map[string]any)["loadBalancer"].(map[string]any)

		svc, err := newService(lb, w.labels, lbPath)
		if err != nil {
			return err
		}
		r.services[n.Name] = svc
	}
	return nil
}

// newService splits the label-only server settings from the load balancer.
// In labels, loadbalancer.server describes the one server the docker
// provider adds for the container; dswap adds one per target instead.
func newService(lb map[string]any, labels labelSet, lbPath []string) (*httpService, error) {
	svc := &httpService{loadBalancer: lb, scheme: "http"}

	server, _ := lb["servers"].(map[string]any)
	delete(lb, "servers")
	serverPath := childPath(lbPath, "server")

	if url, ok := server["url"].(string); ok {
		return nil, fmt.Errorf("label %q: server.url is a fixed address (%q) that dswap cannot switch between containers; remove it and set %s instead",
			labels.keyAt(childPath(serverPath, "url")), url, joinPath(childPath(serverPath, "port")))
	}
	if scheme, ok := server["scheme"].(string); ok {
		switch scheme {
		case "http", "https", "h2c":
			svc.scheme = scheme
		default:
			return nil, fmt.Errorf("label %q: scheme %q is not one of http, https, h2c", labels.keyAt(childPath(serverPath, "scheme")), scheme)
		}
	}
	if port, ok := server["port"].(string); ok {
		n, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("label %q: %q is not an integer", labels.keyAt(childPath(serverPath, "port")), port)
		}
		if n < 1 || n > 65535 {
			return nil, fmt.Errorf("label %q: port %d is outside 1-65535", labels.keyAt(childPath(serverPath, "port")), n)
		}
		svc.port = n
	}
	svc.weight, _ = server["weight"].(string)
	svc.preservePath, _ = server["preservePath"].(string)

	return svc, nil
}

func (r *Routing) decodeMiddlewares(w walker, group *parser.Node, path []string) error {
	middlewareType := reflect.TypeOf(middlewareConfig{})
	for _, n := range group.Children {
		p := childPath(path, n.Name)
		if len(n.Children) == 0 {
			return fmt.Errorf("label %q: a middleware needs exactly one type, e.g. %s.stripprefix.prefixes=/api; types are %s",
				w.labels.keyAt(p), joinPath(p), strings.Join(middlewareTypes, ", "))
		}
		for _, child := range n.Children {
			if _, ok := findField(middlewareType, child.Name); !ok {
				return fmt.Errorf("label %q: %q is not a middleware type; types are %s",
					w.labels.keyAt(childPath(p, child.Name)), child.Name, strings.Join(middlewareTypes, ", "))
			}
		}
		if len(n.Children) > 1 {
			return fmt.Errorf("labels %q and %q give middleware %q two types (%s and %s): a middleware has exactly one type, so declare a second middleware and list both in the router",
				w.labels.keyAt(childPath(p, n.Children[0].Name)), w.labels.keyAt(childPath(p, n.Children[1].Name)),
				n.Name, n.Children[0].Name, n.Children[1].Name)
		}

		v, _, err := w.section(n, p, middlewareType, false)
		if err != nil {
			return err
		}
		mw := v.(map[string]any)
		if len(mw) == 0 {
			return fmt.Errorf("label %q switches off the only type of middleware %q: set it to true or remove the middleware",
				w.labels.keyAt(childPath(p, n.Children[0].Name)), n.Name)
		}
		r.middlewares[n.Name] = mw
	}
	return nil
}

// addDefaultService mimics the docker provider: a container that declares no
// service gets one load balancer named after it.
func (r *Routing) addDefaultService(serviceName string) error {
	if len(r.services) > 0 {
		return nil
	}
	name := normalizeName(serviceName)
	if name == "" {
		return fmt.Errorf("dswap service name %q gives an empty Traefik service name: declare traefik.http.services.<name>.loadbalancer.server.port", serviceName)
	}
	r.services[name] = &httpService{loadBalancer: map[string]any{}, scheme: "http"}
	return nil
}

// normalizeName turns a name into a Traefik-friendly one the way the docker
// provider does: runs of characters other than letters and digits become a
// single dash.
func normalizeName(name string) string {
	fields := strings.FieldsFunc(name, func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsNumber(c)
	})
	return strings.Join(fields, "-")
}

// resolveServerPorts fills in the port of services that have no port label.
// The docker provider would take the lowest exposed port; dswap only accepts
// an unambiguous single port, since guessing wrong sends traffic nowhere.
func (r *Routing) resolveServerPorts(exposedPorts []int, httpPath []string) error {
	ports := slices.Clone(exposedPorts)
	slices.Sort(ports)
	ports = slices.Compact(ports)

	for _, name := range r.ServiceNames() {
		svc := r.services[name]
		if svc.port != 0 {
			continue
		}
		label := joinPath(append(slices.Clone(httpPath), "services", name, "loadbalancer", "server", "port"))
		switch len(ports) {
		case 1:
			svc.port = ports[0]
		case 0:
			return fmt.Errorf("service %q has no port: the container exposes none, so add the label %q", name, label)
		default:
			return fmt.Errorf("service %q has no port and the container exposes several (%s): add the label %q", name, joinInts(ports), label)
		}
	}
	return nil
}

func joinInts(values []int) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Itoa(v)
	}
	return strings.Join(out, ", ")
}

// linkRouters checks each router's rule and gives it a service the way the
// docker provider does: a router without one uses the container's only
// service.
func (r *Routing) linkRouters(typed *httpConfig, labels labelSet, httpPath []string) error {
	for _, name := range r.RouterNames() {
		router := typed.Routers[name]
		routerPath := append(slices.Clone(httpPath), "routers", name)

		if strings.TrimSpace(router.Rule) == "" {
			return fmt.Errorf("router %q has no rule: add the label %q, e.g. Host(`example.com`) (dswap has no default rule)",
				name, joinPath(append(routerPath, "rule")))
		}

		if router.Service == "" {
			services := r.ServiceNames()
			if len(services) > 1 {
				return fmt.Errorf("router %q has no service and the container defines several (%s): add the label %q",
					name, strings.Join(services, ", "), joinPath(append(routerPath, "service")))
			}
			r.routers[name]["service"] = services[0]
			continue
		}

		label := labels.keyAt(append(routerPath, "service"))
		if err := r.checkReference("service", router.Service, label, r.ServiceNames()); err != nil {
			return err
		}
	}
	return nil
}

// checkMiddlewareReferences checks the middleware names used by routers and
// chains, and the service used by errors middlewares.
func (r *Routing) checkMiddlewareReferences(typed *httpConfig, labels labelSet, httpPath []string) error {
	for _, name := range r.RouterNames() {
		label := labels.keyAt(append(slices.Clone(httpPath), "routers", name, "middlewares"))
		for _, ref := range typed.Routers[name].Middlewares {
			if err := r.checkReference("middleware", ref, label, r.MiddlewareNames()); err != nil {
				return err
			}
		}
	}

	for _, name := range r.MiddlewareNames() {
		mw := typed.Middlewares[name]
		mwPath := append(slices.Clone(httpPath), "middlewares", name)
		if mw.Chain != nil {
			label := labels.keyAt(append(mwPath, "chain", "middlewares"))
			for _, ref := range mw.Chain.Middlewares {
				if err := r.checkReference("middleware", ref, label, r.MiddlewareNames()); err != nil {
					return err
				}
			}
		}
		if mw.Errors != nil && mw.Errors.Service != "" {
			label := labels.keyAt(append(mwPath, "errors", "service"))
			if err := r.checkReference("service", mw.Errors.Service, label, r.ServiceNames()); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkReference checks a router, chain or errors reference. A plain name
// refers to the provider that holds the reference; dswap writes everything
// of this container into one file, so the name must be defined here. A name
// with a provider suffix (x@file, x@docker) is passed through unchanged, and
// a reference to the docker provider earns a warning.
func (r *Routing) checkReference(kind, ref, label string, defined []string) error {
	if strings.Contains(ref, "@") {
		if strings.HasSuffix(ref, "@docker") {
			r.warnings = append(r.warnings, fmt.Sprintf(
				"label %q uses %s %q from the docker provider: it only exists while the docker provider reads the container that defines it", label, kind, ref))
		}
		return nil
	}
	if slices.Contains(defined, ref) {
		return nil
	}
	for _, name := range defined {
		if strings.EqualFold(name, ref) {
			return fmt.Errorf("label %q: %s %q is not defined, but %q is: Traefik names are case-sensitive", label, kind, ref, name)
		}
	}
	return fmt.Errorf("label %q: %s %q is not defined by this container's labels: define it with traefik.http.%ss.%s.* or name its provider, e.g. %s@file",
		label, kind, ref, kind, ref, ref)
}

// ServiceNames returns the Traefik service names (without @file), sorted.
func (r *Routing) ServiceNames() []string {
	return sortedKeys(r.services)
}

// RouterNames returns the Traefik router names (without @file), sorted.
func (r *Routing) RouterNames() []string {
	return sortedKeys(r.routers)
}

// MiddlewareNames returns the Traefik middleware names (without @file), sorted.
func (r *Routing) MiddlewareNames() []string {
	return sortedKeys(r.middlewares)
}

// Warnings returns, sorted, the things in the labels that work but deserve
// the user's attention, such as references to the docker provider.
func (r *Routing) Warnings() []string {
	return slices.Clone(r.warnings)
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkLabelKey refuses a label key that is not valid UTF-8 or holds a
// control character. Names come from keys (routers, services, middlewares),
// and such a name does not survive the route file's YAML unchanged: the file
// would name another service than the one dswap waits to see in Traefik's
// API (found by FuzzRoutingFile).
func checkLabelKey(key string) error {
	if !utf8.ValidString(key) {
		return fmt.Errorf("label %q is not valid UTF-8: give routers, services and middlewares names of printable characters", key)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("label %q holds a control character: give routers, services and middlewares names of printable characters", key)
		}
	}
	return nil
}
