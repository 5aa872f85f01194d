package labels

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	traefik2_11_0  = TraefikVersion{2, 11, 0}
	traefik2_11_53 = TraefikVersion{2, 11, 53}
	traefik3_0_0   = TraefikVersion{3, 0, 0}
	traefik3_6_10  = TraefikVersion{3, 6, 10}
)

// TestVersionedFields lists, for each setting that is not in every
// supported Traefik release, one label using it and whether Traefik v2.11.53,
// v3.0.0 and v3.6.10 accept it. A refusal must name the label, the field
// and the release that has it.
func TestVersionedFields(t *testing.T) {
	tests := []struct {
		label, value string
		// since is the release quoted when a version lacks the field.
		v2, v30, v36 bool
		field, since string
	}{
		// v3-only, from v3.0.
		{label: "traefik.http.routers.web.rulesyntax", value: "v3", field: "ruleSyntax", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.services.web.loadbalancer.healthcheck.mode", value: "grpc", field: "mode", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.services.web.loadbalancer.healthcheck.status", value: "204", field: "status", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.services.web.loadbalancer.server.weight", value: "2", field: "weight", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.services.web.loadbalancer.sticky.cookie.maxage", value: "60", field: "maxAge", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.middlewares.m.circuitbreaker.responsecode", value: "503", field: "responseCode", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.middlewares.m.compress.includedcontenttypes", value: "text/html", field: "includedContentTypes", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.middlewares.m.forwardauth.addauthcookiestoresponse", value: "a", field: "addAuthCookiesToResponse", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.middlewares.m.grpcweb.alloworigins", value: "*", field: "grpcWeb", since: "v3.0", v30: true, v36: true},
		{label: "traefik.http.middlewares.m.ipallowlist.rejectstatuscode", value: "404", field: "rejectStatusCode", since: "v3.0", v30: true, v36: true},
		// v3-only, from later v3 minor releases.
		{label: "traefik.http.middlewares.m.compress.defaultencoding", value: "gzip", field: "defaultEncoding", since: "v3.1", v36: true},
		{label: "traefik.http.middlewares.m.headers.contentsecuritypolicyreportonly", value: "x", field: "contentSecurityPolicyReportOnly", since: "v3.1", v36: true},
		{label: "traefik.http.middlewares.m.compress.encodings", value: "gzip", field: "encodings", since: "v3.2", v36: true},
		{label: "traefik.http.middlewares.m.forwardauth.headerfield", value: "X-User", field: "headerField", since: "v3.2", v36: true},
		{label: "traefik.http.middlewares.m.ipallowlist.ipstrategy.ipv6subnet", value: "64", field: "ipv6Subnet", since: "v3.2", v36: true},
		{label: "traefik.http.middlewares.m.ipwhitelist.ipstrategy.ipv6subnet", value: "64", field: "ipv6Subnet", since: "v3.2", v36: true},
		{label: "traefik.http.middlewares.m.inflightreq.sourcecriterion.ipstrategy.ipv6subnet", value: "64", field: "ipv6Subnet", since: "v3.2", v36: true},
		{label: "traefik.http.middlewares.m.ratelimit.sourcecriterion.ipstrategy.ipv6subnet", value: "64", field: "ipv6Subnet", since: "v3.2", v36: true},
		{label: "traefik.http.services.web.loadbalancer.server.preservepath", value: "true", field: "preservePath", since: "v3.2", v36: true},
		{label: "traefik.http.routers.web.observability.accesslogs", value: "false", field: "observability", since: "v3.3", v36: true},
		{label: "traefik.http.services.web.loadbalancer.sticky.cookie.path", value: "/", field: "path", since: "v3.3", v36: true},
		{label: "traefik.http.middlewares.m.forwardauth.forwardbody", value: "true", field: "forwardBody", since: "v3.3", v36: true},
		{label: "traefik.http.middlewares.m.forwardauth.maxbodysize", value: "100", field: "maxBodySize", since: "v3.3", v36: true},
		{label: "traefik.http.middlewares.m.forwardauth.preservelocationheader", value: "true", field: "preserveLocationHeader", since: "v3.3", v36: true},
		{label: "traefik.http.services.web.loadbalancer.strategy", value: "wrr", field: "strategy", since: "v3.4", v36: true},
		{label: "traefik.http.services.web.loadbalancer.sticky.cookie.domain", value: "example.com", field: "domain", since: "v3.4", v36: true},
		{label: "traefik.http.middlewares.m.errors.statusrewrites.500", value: "503", field: "statusRewrites", since: "v3.4", v36: true},
		{label: "traefik.http.middlewares.m.forwardauth.preserverequestmethod", value: "true", field: "preserveRequestMethod", since: "v3.4", v36: true},
		{label: "traefik.http.middlewares.m.ratelimit.redis.endpoints", value: "redis:6379", field: "redis", since: "v3.4", v36: true},
		{label: "traefik.http.routers.web.observability.traceverbosity", value: "detailed", field: "observability", since: "v3.3", v36: true},
		{label: "traefik.http.services.web.loadbalancer.healthcheck.unhealthyinterval", value: "5s", field: "unhealthyInterval", since: "v3.5", v36: true},
		{label: "traefik.http.services.web.loadbalancer.passivehealthcheck.maxfailedattempts", value: "3", field: "passiveHealthCheck", since: "v3.6", v36: true},
		// Added to patch releases of both lines.
		{label: "traefik.http.middlewares.m.forwardauth.maxresponsebodysize", value: "1024", field: "maxResponseBodySize", since: "v3.6.9", v2: true, v36: true},
		// Only in v2.11.
		{label: "traefik.http.middlewares.m.errors.errorrequestheaders", value: "Accept", field: "errorRequestHeaders", since: "v2.11", v2: true},
		// In every supported release.
		{label: "traefik.http.middlewares.m.ipallowlist.sourcerange", value: "10.0.0.0/8", v2: true, v30: true, v36: true},
		{label: "traefik.http.middlewares.m.ipwhitelist.sourcerange", value: "10.0.0.0/8", v2: true, v30: true, v36: true},
		{label: "traefik.http.routers.web.tls.domains[0].main", value: "example.com", v2: true, v30: true, v36: true},
		{label: "traefik.http.middlewares.m.headers.customrequestheaders.X-Rulesyntax", value: "1", v2: true, v30: true, v36: true},
		{label: "traefik.http.services.web.loadbalancer.healthcheck.interval", value: "10s", v2: true, v30: true, v36: true},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			set := merge(simpleLabels, map[string]string{tc.label: tc.value})
			for _, run := range []struct {
				version TraefikVersion
				accepts bool
			}{{traefik2_11_53, tc.v2}, {traefik3_0_0, tc.v30}, {traefik3_6_10, tc.v36}} {
				_, err := DecodeTraefikFor(set, "app", nil, run.version)
				if run.accepts {
					assert.NoError(t, err, "Traefik %s", run.version)
					continue
				}
				if assert.Error(t, err, "Traefik %s", run.version) {
					assert.Contains(t, err.Error(), `label "`+tc.label+`"`)
					assert.Contains(t, err.Error(), "field "+tc.field+" ")
					assert.Contains(t, err.Error(), tc.since)
					assert.Contains(t, err.Error(), "the running Traefik is "+run.version.String())
				}
			}
		})
	}
}

func TestVersionedFieldMessage(t *testing.T) {
	set := merge(simpleLabels, map[string]string{"traefik.http.middlewares.m.ipallowlist.rejectstatuscode": "404"})
	_, err := DecodeTraefikFor(set, "app", nil, traefik2_11_53)
	require.Error(t, err)
	assert.Equal(t, `label "traefik.http.middlewares.m.ipallowlist.rejectstatuscode": field rejectStatusCode needs Traefik v3.0 or later; the running Traefik is v2.11.53. Remove the label or change the Traefik version; nothing was changed`, err.Error())

	set = merge(simpleLabels, map[string]string{"traefik.http.middlewares.m.errors.errorrequestheaders": "Accept"})
	_, err = DecodeTraefikFor(set, "app", nil, traefik3_6_10)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field errorRequestHeaders is only in Traefik v2.11 (from v2.11.44), not in v3 up to v3.6.10")
}

// TestPatchReleaseSpans covers fields added in a patch release: the early
// patch releases of the line lack them.
func TestPatchReleaseSpans(t *testing.T) {
	set := merge(simpleLabels, map[string]string{"traefik.http.middlewares.m.forwardauth.maxresponsebodysize": "1024"})
	_, err := DecodeTraefikFor(set, "app", nil, traefik2_11_0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "needs Traefik v2.11.38 or later")
	_, err = DecodeTraefikFor(set, "app", nil, TraefikVersion{3, 5, 0})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "needs Traefik v3.6.9 or later (or v2.11.38 or later in v2.11)")
	_, err = DecodeTraefikFor(set, "app", nil, TraefikVersion{2, 11, 38})
	assert.NoError(t, err)
}

// TestUnknownVersionIsNewest: DecodeTraefik, and DecodeTraefikFor with an
// unknown version, check against v3.6.10 and say that they assume it.
func TestUnknownVersionIsNewest(t *testing.T) {
	set := merge(simpleLabels, map[string]string{"traefik.http.middlewares.m.errors.errorrequestheaders": "Accept"})
	_, err := DecodeTraefik(set, "app", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dswap assumes Traefik v3.6.10 because the running Traefik's version is not known")

	set = merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.passivehealthcheck.maxfailedattempts": "3"})
	_, err = DecodeTraefik(set, "app", nil)
	assert.NoError(t, err)
}

func TestTooOldTraefik(t *testing.T) {
	_, err := DecodeTraefikFor(simpleLabels, "app", nil, TraefikVersion{2, 10, 7})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the running Traefik is v2.10.7: upgrade Traefik to v2.11 or later")
}

// TestV2BareNumberDurations: Traefik v2 parses health-check durations with
// time.ParseDuration, so a bare number of seconds is silently replaced by
// the default there.
func TestV2BareNumberDurations(t *testing.T) {
	set := merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.healthcheck.interval": "10"})
	_, err := DecodeTraefikFor(set, "app", nil, traefik2_11_53)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Write it with a unit, e.g. 10s")
	_, err = DecodeTraefikFor(set, "app", nil, traefik3_6_10)
	assert.NoError(t, err)
}

func TestParseTraefikVersion(t *testing.T) {
	tests := []struct {
		in   string
		want TraefikVersion
		err  bool
	}{
		{in: "v2.11.53", want: traefik2_11_53},
		{in: "3.6.10", want: traefik3_6_10},
		{in: "v3.6.0-rc1", want: TraefikVersion{3, 6, 0}},
		{in: "2.11", want: traefik2_11_0},
		{in: " v3.0 ", want: traefik3_0_0},
		{in: "dev", err: true},
		{in: "", err: true},
		{in: "v3", err: true},
		{in: "0.1.2", err: true},
	}
	for _, tc := range tests {
		got, err := ParseTraefikVersion(tc.in)
		if tc.err {
			assert.ErrorIs(t, err, ErrUnknownTraefikVersion, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// TestFieldSpansNameSchemaPaths: every path in fieldSpans must be a path of
// the schema, or its entry would never match a label.
func TestFieldSpansNameSchemaPaths(t *testing.T) {
	paths := map[string]bool{}
	var walk func(prefix string, typ reflect.Type, depth int)
	walk = func(prefix string, typ reflect.Type, depth int) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == durationType || depth > 8 {
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			p := prefix + "." + yamlName(f)
			paths[p] = true
			walk(p, f.Type, depth+1)
		}
	}
	walk("routers", reflect.TypeOf(routerConfig{}), 0)
	walk("services", reflect.TypeOf(serviceConfig{}), 0)
	walk("middlewares", reflect.TypeOf(middlewareConfig{}), 0)

	var missing []string
	for p := range fieldSpans {
		if !paths[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "fieldSpans paths that are not in schema.go")
	for p := range goDurationOnV2 {
		assert.True(t, paths[p], p)
	}
}

func TestSchemaPath(t *testing.T) {
	tests := []struct {
		key  string
		want string
	}{
		{key: "traefik.http.services.web.loadbalancer.server.weight", want: "services.loadBalancer.servers.weight"},
		{key: "traefik.http.routers.web.tls.domains[0].sans", want: "routers.tls.domains.sans"},
		{key: "traefik.http.middlewares.m.headers.customrequestheaders.X-Foo", want: "middlewares.headers.customRequestHeaders"},
		{key: "traefik.http.middlewares.m.plugin.p.ruleSyntax", want: "middlewares.plugin"},
		{key: "traefik.http.middlewares.m.nosuch.x", want: ""},
		{key: "traefik.tcp.routers.r.rule", want: ""},
	}
	for _, tc := range tests {
		got, ok := schemaPath(tc.key)
		assert.Equal(t, tc.want != "", ok, tc.key)
		assert.Equal(t, tc.want, strings.Join(got, "."), tc.key)
	}
}
