package labels

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A route file carries a generation marker: an HTTP middleware that no
// router uses, named after the file's service, whose only setting is a
// request header holding the write's generation:
//
//	http:
//	  middlewares:
//	    dswap-generation-web:
//	      headers:
//	        customRequestHeaders:
//	          X-Dswap-Generation: "1767225600123456789"
//
// Traefik's API shows the configuration it runs, not which write of the
// routes directory it was built from. A change still waiting in Traefik's
// reload throttle can therefore be applied after dswap saw its servers in
// the API, replacing them. The marker makes the write itself visible: when
// /api/rawdata lists this middleware with this generation, Traefik runs the
// configuration built from this very write, not an earlier one that
// happened to have the same servers.
//
// Why a middleware: Traefik v2.11 and v3 both accept a headers middleware
// in a file, list every middleware in /api/rawdata whether or not a router
// uses it, and build a middleware only for the routers that name it, so an
// unused one has no effect on traffic. The generation is a value, not part
// of the name, so that the name stays fixed per file (no name-clash churn
// across files) and the value is compared exactly.
const (
	generationMarkerPrefix = "dswap-generation-"
	// GenerationHeader is the header whose value is the generation.
	GenerationHeader = "X-Dswap-Generation"
)

// Generation identifies one write of a route file. It is a wall-clock
// value in nanoseconds made strictly greater than the generation of the
// file it replaces, so it is unique across writes even when a file is
// deleted and written again with identical content.
type Generation int64

func (g Generation) String() string { return strconv.FormatInt(int64(g), 10) }

// NextGeneration returns the generation of a write that replaces a file of
// generation previous (0 when there was none or it had no marker).
func NextGeneration(previous Generation, now time.Time) Generation {
	g := Generation(now.UnixNano())
	if g <= previous {
		g = previous + 1
	}
	return g
}

var unsafeMarkerChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// GenerationMarker is the name of the marker middleware in the route file
// of the service with this key. Each file has its own, because Traefik
// keeps only one definition of a name across the directory's files.
func GenerationMarker(key string) string {
	return generationMarkerPrefix + unsafeMarkerChars.ReplaceAllString(key, "_")
}

// IsGenerationMarker says whether a middleware name is a generation marker.
func IsGenerationMarker(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), generationMarkerPrefix)
}

// GenerationOf returns the generation recorded in a route file, or 0 when
// it has none (a file written by an older dswap) or is not YAML.
func GenerationOf(content []byte) Generation {
	var doc map[string]any
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return 0
	}
	for name, mw := range child(child(doc, "http"), "middlewares") {
		if !IsGenerationMarker(name) {
			continue
		}
		m, _ := mw.(map[string]any)
		for k, v := range child(child(m, "headers"), "customRequestHeaders") {
			if strings.EqualFold(k, GenerationHeader) {
				if g, err := strconv.ParseInt(fmt.Sprint(v), 10, 64); err == nil {
					return Generation(g)
				}
			}
		}
	}
	return 0
}

// SameRoute says whether two route files configure the same thing once
// their generation markers are left out. The keeper writes a file only when
// it would change: comparing with the marker would rewrite every file on
// every look, and each rewrite costs one of Traefik's reload slots.
func SameRoute(a, b []byte) bool {
	var da, db map[string]any
	if yaml.Unmarshal(a, &da) != nil || yaml.Unmarshal(b, &db) != nil {
		return bytes.Equal(a, b)
	}
	dropGenerationMarkers(da)
	dropGenerationMarkers(db)
	return reflect.DeepEqual(da, db)
}

func dropGenerationMarkers(doc map[string]any) {
	var httpKey string
	for k := range doc {
		if strings.EqualFold(k, "http") {
			httpKey = k
		}
	}
	http := child(doc, "http")
	for k := range http {
		if !strings.EqualFold(k, "middlewares") {
			continue
		}
		mws := child(http, k)
		for name := range mws {
			if IsGenerationMarker(name) {
				delete(mws, name)
			}
		}
		if len(mws) == 0 {
			delete(http, k)
		}
	}
	if httpKey != "" && len(http) == 0 {
		delete(doc, httpKey)
	}
}

// Stamp returns content with the generation marker of the service with
// this key set to gen, replacing any marker the file had. The rest of the
// file is kept as it was (keys, order, quoting, comments).
func Stamp(content []byte, key string, gen Generation) ([]byte, error) {
	// The file provider runs files through text/template, and dswap's
	// files escape "{{" for it (see escapeTemplate). The YAML encoder may
	// requote a scalar, so the escapes are taken out before editing and put
	// back after, on the final text, as File does.
	text := unescapeTemplate(string(content))
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("route file is not YAML, so no generation can be recorded in it: %w", err)
	}
	if doc.Kind == 0 { // an empty file
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("route file is not a YAML mapping, so no generation can be recorded in it")
	}
	http := mappingChild(doc.Content[0], "http")
	middlewares := mappingChild(http, "middlewares")
	for i := 0; i+1 < len(middlewares.Content); {
		if IsGenerationMarker(middlewares.Content[i].Value) {
			middlewares.Content = append(middlewares.Content[:i], middlewares.Content[i+2:]...)
			continue
		}
		i += 2
	}
	var marker yaml.Node
	if err := marker.Encode(map[string]any{"headers": map[string]any{"customRequestHeaders": map[string]string{GenerationHeader: gen.String()}}}); err != nil {
		return nil, fmt.Errorf("rendering the generation marker: %w", err)
	}
	// The value is quoted so that every YAML reader (and paerser, which
	// decodes header values as strings) sees the digits as a string.
	marker.Content[1].Content[1].Content[1].Style = yaml.DoubleQuotedStyle
	middlewares.Content = append(middlewares.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: GenerationMarker(key)}, &marker)

	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("recording the generation in the route file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("recording the generation in the route file: %w", err)
	}
	return []byte(escapeTemplate(out.String())), nil
}

// mappingChild returns the mapping under key in m (matched without regard
// to case, as Traefik does), adding an empty one when m has none.
func mappingChild(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, key) {
			v := m.Content[i+1]
			if v.Kind != yaml.MappingNode {
				// "middlewares:" with nothing under it decodes as null.
				*v = yaml.Node{Kind: yaml.MappingNode}
			}
			return v
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// unescapeTemplate undoes escapeTemplate.
func unescapeTemplate(text string) string {
	return strings.ReplaceAll(text, `{{"{{"}}`, "{{")
}
