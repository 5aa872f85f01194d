package labels

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/paerser/parser"
)

// This file checks labels against the Traefik release that will read the
// route file. schema.go describes the union of what Traefik v2.11 and v3.6
// accept; fieldSpans below lists every setting that is not in all of them.
// A setting the running Traefik does not know makes it reject the whole
// file-provider update ("field not found"), which blocks the route changes of
// every service, so dswap refuses it before anything is written.
//
// The spans are a table keyed by schema path rather than struct tags on
// schema.go: one place shows what differs between releases, a test checks
// every path against the schema, and schema.go keeps describing one shape.
// They were found by listing every field path under dynamic.HTTPConfiguration
// (routers, services' loadBalancer, middlewares) in the sources of Traefik
// v2.11.0, v2.11.53, v3.0.0, v3.1.0, v3.2.0, v3.3.1, v3.4.0, v3.5.0, v3.6.0
// and v3.6.10, comparing the lists release by release, and reading the
// changelogs for the fields added in patch releases.

// TraefikVersion is a Traefik release. The zero value means "not known";
// labels are then checked against newestTraefik, the release schema.go
// follows.
type TraefikVersion struct {
	Major, Minor, Patch int
}

// newestTraefik is the release schema.go describes; an unknown version is
// assumed to be it.
var newestTraefik = TraefikVersion{3, 6, 10}

// oldestTraefik is the oldest release dswap checks labels for: v2.11 is the
// first with ipAllowList and the last v2 line still maintained.
var oldestTraefik = TraefikVersion{2, 11, 0}

// ErrUnknownTraefikVersion is returned for a version text that names no
// release, such as "dev" from a Traefik built without version stamping.
var ErrUnknownTraefikVersion = errors.New("not a Traefik release version")

var versionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$`)

// ParseTraefikVersion reads a version as Traefik's /api/version reports it
// ("v2.11.53", "3.6.10", "v3.6.0-rc1") or as a user writes it ("3.6"). A
// pre-release counts as its release.
func ParseTraefikVersion(s string) (TraefikVersion, error) {
	m := versionPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return TraefikVersion{}, fmt.Errorf("%q: %w (want e.g. v3.6.10 or 2.11)", s, ErrUnknownTraefikVersion)
	}
	var v TraefikVersion
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
	}
	if v.Major == 0 {
		return TraefikVersion{}, fmt.Errorf("%q: %w (want e.g. v3.6.10 or 2.11)", s, ErrUnknownTraefikVersion)
	}
	return v, nil
}

// IsZero reports whether the version is unknown.
func (v TraefikVersion) IsZero() bool { return v == TraefikVersion{} }

// String returns the version as Traefik writes it, e.g. v2.11.53.
func (v TraefikVersion) String() string {
	if v.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// short writes a release that starts a span: v3.3 for v3.3.0, but v2.11.38
// for a patch release.
func (v TraefikVersion) short() string {
	if v.Patch == 0 {
		return fmt.Sprintf("v%d.%d", v.Major, v.Minor)
	}
	return v.String()
}

func (v TraefikVersion) less(o TraefikVersion) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// fieldSpan says from which release of each major version a setting exists.
// A zero release means no release of that major version has it.
type fieldSpan struct {
	v2, v3 TraefikVersion
}

// fieldSpans lists the settings that are not in every release from v2.11.0
// and v3.0.0 on, keyed by their path in the schema: yaml spellings, with the
// user's names (of routers, services, middlewares, map keys) left out and a
// list written as its field (loadbalancer.server is services.loadBalancer.servers).
// A section's span covers everything below it.
var fieldSpans = map[string]fieldSpan{
	// New in v3.0.
	"routers.ruleSyntax":                                            {v3: TraefikVersion{3, 0, 0}},
	"services.loadBalancer.healthCheck.mode":                        {v3: TraefikVersion{3, 0, 0}},
	"services.loadBalancer.healthCheck.status":                      {v3: TraefikVersion{3, 0, 0}},
	"services.loadBalancer.servers.weight":                          {v3: TraefikVersion{3, 0, 0}},
	"services.loadBalancer.sticky.cookie.maxAge":                    {v3: TraefikVersion{3, 0, 0}},
	"middlewares.circuitBreaker.responseCode":                       {v3: TraefikVersion{3, 0, 0}},
	"middlewares.compress.includedContentTypes":                     {v3: TraefikVersion{3, 0, 0}},
	"middlewares.forwardAuth.addAuthCookiesToResponse":              {v3: TraefikVersion{3, 0, 0}},
	"middlewares.grpcWeb":                                           {v3: TraefikVersion{3, 0, 0}},
	"middlewares.ipAllowList.rejectStatusCode":                      {v3: TraefikVersion{3, 0, 0}},
	"middlewares.compress.defaultEncoding":                          {v3: TraefikVersion{3, 1, 0}},
	"middlewares.headers.contentSecurityPolicyReportOnly":           {v3: TraefikVersion{3, 1, 0}},
	"middlewares.compress.encodings":                                {v3: TraefikVersion{3, 2, 0}},
	"middlewares.forwardAuth.headerField":                           {v3: TraefikVersion{3, 2, 0}},
	"middlewares.ipAllowList.ipStrategy.ipv6Subnet":                 {v3: TraefikVersion{3, 2, 0}},
	"middlewares.ipWhiteList.ipStrategy.ipv6Subnet":                 {v3: TraefikVersion{3, 2, 0}},
	"middlewares.inFlightReq.sourceCriterion.ipStrategy.ipv6Subnet": {v3: TraefikVersion{3, 2, 0}},
	"middlewares.rateLimit.sourceCriterion.ipStrategy.ipv6Subnet":   {v3: TraefikVersion{3, 2, 0}},
	"services.loadBalancer.servers.preservePath":                    {v3: TraefikVersion{3, 2, 0}},
	"routers.observability":                                         {v3: TraefikVersion{3, 3, 0}},
	"services.loadBalancer.sticky.cookie.path":                      {v3: TraefikVersion{3, 3, 0}},
	"middlewares.forwardAuth.forwardBody":                           {v3: TraefikVersion{3, 3, 0}},
	"middlewares.forwardAuth.maxBodySize":                           {v3: TraefikVersion{3, 3, 0}},
	"middlewares.forwardAuth.preserveLocationHeader":                {v3: TraefikVersion{3, 3, 0}},
	"services.loadBalancer.strategy":                                {v3: TraefikVersion{3, 4, 0}},
	"services.loadBalancer.sticky.cookie.domain":                    {v3: TraefikVersion{3, 4, 0}},
	"middlewares.errors.statusRewrites":                             {v3: TraefikVersion{3, 4, 0}},
	"middlewares.forwardAuth.preserveRequestMethod":                 {v3: TraefikVersion{3, 4, 0}},
	"middlewares.rateLimit.redis":                                   {v3: TraefikVersion{3, 4, 0}},
	"routers.observability.traceVerbosity":                          {v3: TraefikVersion{3, 5, 0}},
	"services.loadBalancer.healthCheck.unhealthyInterval":           {v3: TraefikVersion{3, 5, 0}},
	"services.loadBalancer.passiveHealthCheck":                      {v3: TraefikVersion{3, 6, 0}},
	// Added in patch releases of both lines (a security backport).
	"middlewares.forwardAuth.maxResponseBodySize": {v2: TraefikVersion{2, 11, 38}, v3: TraefikVersion{3, 6, 9}},
	// Only in v2.11, from v2.11.44; v3.6.10 does not have it.
	"middlewares.errors.errorRequestHeaders": {v2: TraefikVersion{2, 11, 44}},
}

// goDurationOnV2 are the settings Traefik v2 reads with time.ParseDuration
// at run time: a bare number of seconds, which v3 (and paerser) accept, is
// logged as an error there and the default used instead.
var goDurationOnV2 = map[string]bool{
	"services.loadBalancer.healthCheck.interval": true,
	"services.loadBalancer.healthCheck.timeout":  true,
}

// DecodeTraefik reads the traefik.* labels of a container for the newest
// Traefik dswap knows (see DecodeTraefikFor).
func DecodeTraefik(containerLabels map[string]string, service string, exposedPorts []int) (*Routing, error) {
	return DecodeTraefikFor(containerLabels, service, exposedPorts, TraefikVersion{})
}

// DecodeTraefikFor reads the traefik.* labels of a container (see
// decodeTraefik) and refuses settings that Traefik release v does not know;
// the zero v stands for the newest release dswap knows.
func DecodeTraefikFor(containerLabels map[string]string, service string, exposedPorts []int, v TraefikVersion) (*Routing, error) {
	r, err := decodeTraefik(containerLabels, service, exposedPorts)
	if err != nil {
		return nil, err
	}
	if err := CheckTraefikVersion(containerLabels, v); err != nil {
		return nil, err
	}
	return r, nil
}

// CheckTraefikVersion refuses the first traefik.http.* label (in sorted
// order) that names a setting Traefik release v does not know. The zero v
// stands for the newest release dswap knows. Labels that are not settings of
// the schema are left to DecodeTraefik to report.
func CheckTraefikVersion(containerLabels map[string]string, v TraefikVersion) error {
	running := "the running Traefik is " + v.String()
	if v.IsZero() {
		v = newestTraefik
		running = "dswap assumes Traefik " + v.String() + " because the running Traefik's version is not known (set --traefik-version or DSWAP_TRAEFIK_VERSION)"
	}
	if v.less(oldestTraefik) {
		return fmt.Errorf("dswap writes routes for Traefik v2.11 and v3, but the running Traefik is %s: upgrade Traefik to v2.11 or later", v)
	}

	// Sorted, so that the label reported is the same on every run when
	// several are refused.
	var keys []string
	for key := range containerLabels {
		if strings.HasPrefix(key, parser.DefaultRootName+".") {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		path, ok := schemaPath(key)
		if !ok {
			continue
		}
		for i := 1; i <= len(path); i++ {
			span, ok := fieldSpans[strings.Join(path[:i], ".")]
			if !ok {
				continue
			}
			if err := span.check(v); err != "" {
				return fmt.Errorf("label %q: field %s %s; %s. Remove the label or change the Traefik version; nothing was changed", key, path[i-1], err, running)
			}
			break
		}
		if v.Major == 2 && goDurationOnV2[strings.Join(path, ".")] {
			if _, err := strconv.ParseInt(strings.TrimSpace(containerLabels[key]), 10, 64); err == nil {
				return fmt.Errorf("label %q: Traefik v2 reads %s as a Go duration and ignores a bare number (%s); %s. Write it with a unit, e.g. %ss", key, path[len(path)-1], containerLabels[key], running, strings.TrimSpace(containerLabels[key]))
			}
		}
	}
	return nil
}

// check returns why a release lacks the setting, or "" when it has it.
func (s fieldSpan) check(v TraefikVersion) string {
	first := s.v3
	if v.Major == 2 {
		first = s.v2
	}
	switch {
	case first.IsZero() && v.Major == 2:
		return "needs Traefik " + s.v3.short() + " or later"
	case first.IsZero() && !s.v2.IsZero():
		return "is only in Traefik v2.11 (from " + s.v2.short() + "), not in v3 up to " + newestTraefik.String()
	case first.IsZero():
		return "is in no Traefik release dswap knows"
	case v.less(first):
		if v.Major == 2 || s.v2.IsZero() {
			return "needs Traefik " + first.short() + " or later"
		}
		return "needs Traefik " + first.short() + " or later (or " + s.v2.short() + " or later in v2.11)"
	}
	return ""
}

// schemaPath maps a label key to its path in the schema (see fieldSpans).
// It returns false for keys that are not traefik.http settings the schema
// knows; DecodeTraefik reports those.
func schemaPath(key string) ([]string, bool) {
	segments := strings.Split(key, ".")
	if len(segments) < 5 || segments[0] != parser.DefaultRootName || !strings.EqualFold(segments[1], "http") {
		return nil, false
	}
	var t reflect.Type
	group := strings.ToLower(segments[2])
	switch group {
	case "routers":
		t = reflect.TypeOf(routerConfig{})
	case "services":
		t = reflect.TypeOf(serviceConfig{})
	case "middlewares":
		t = reflect.TypeOf(middlewareConfig{})
	default:
		return nil, false
	}

	path := []string{group}
	for _, segment := range segments[4:] {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			// Below a map (header names, plugin settings) the names are
			// the user's, not settings.
			break
		}
		name, indexed := strings.CutSuffix(segment, "]")
		if indexed {
			open := strings.Index(name, "[")
			if open < 1 {
				return nil, false
			}
			name = name[:open]
		}
		field, ok := findField(t, name)
		if !ok {
			return nil, false
		}
		path = append(path, yamlName(field))
		t = field.Type
		if t.Kind() == reflect.Slice && (indexed || field.Tag.Get(parser.TagLabelSliceAsStruct) != "") {
			t = t.Elem()
		}
	}
	return path, true
}
