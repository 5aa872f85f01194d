package labels

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
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
	rf := routeFileOf(doc)
	rf.Generation = GenerationOf(content)
	return rf, nil
}

// routeFileOf collects the names and servers of a decoded file.
func routeFileOf(doc map[string]any) *RouteFile {
	rf := &RouteFile{Servers: map[string][]string{}}
	http := child(doc, "http")
	rf.Routers = keys(child(http, "routers"))
	for _, name := range keys(child(http, "middlewares")) {
		if !IsGenerationMarker(name) {
			rf.Middlewares = append(rf.Middlewares, name)
		}
	}
	services := child(http, "services")
	rf.Services = keys(services)
	for name, v := range services {
		svc, _ := v.(map[string]any)
		urls := []string{}
		for _, m := range childList(child(svc, "loadBalancer"), "servers") {
			for k, u := range m {
				if strings.EqualFold(k, "url") {
					urls = append(urls, fmt.Sprint(u))
				}
			}
		}
		rf.Servers[name] = urls
	}
	return rf
}

// childList returns m's list of sections under key, matched without regard
// to case. YAML gives []any; TOML's arrays of tables give []map[string]any.
func childList(m map[string]any, key string) []map[string]any {
	for k, v := range m {
		if !strings.EqualFold(k, key) {
			continue
		}
		switch list := v.(type) {
		case []map[string]any:
			return list
		case []any:
			out := make([]map[string]any, 0, len(list))
			for _, item := range list {
				if m, ok := item.(map[string]any); ok {
					out = append(out, m)
				}
			}
			return out
		}
	}
	return nil
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

// ownerPrefix starts the comment line that records which dswap service a
// route file belongs to. Files written before dswap recorded owners lack it.
const ownerPrefix = "# dswap-owner: "

// FileOwner returns the dswap service a route file records as its owner;
// ok is false for a file that records none (hand-written, or written by an
// earlier dswap).
func FileOwner(content []byte) (owner string, ok bool) {
	for _, line := range strings.SplitN(string(content), "\n", 8) {
		if rest, found := strings.CutPrefix(line, ownerPrefix); found {
			return unquoteLine(rest)
		}
	}
	return "", false
}

// unquoteLine reads a quoted name from a header line as Traefik would see
// it: File escaped any "{{" in it for the template step.
func unquoteLine(quoted string) (string, bool) {
	rendered, err := executeTemplate("header", strings.TrimSpace(quoted), nil)
	if err != nil {
		return "", false
	}
	name, err := strconv.Unquote(rendered)
	return name, err == nil
}

var legacyHeader = regexp.MustCompile(`^# Written by dswap for service ("(?:[^"\\]|\\.)*")\.`)

// LegacyFileService returns the service named in the first line of a route
// file written by a dswap that did not record owners: the bare service name,
// without a compose project. ok is false for any other file.
func LegacyFileService(content []byte) (service string, ok bool) {
	if _, has := FileOwner(content); has {
		return "", false
	}
	m := legacyHeader.FindSubmatch(content)
	if m == nil {
		return "", false
	}
	return unquoteLine(string(m[1]))
}
