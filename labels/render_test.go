package labels

import (
	"bytes"
	"maps"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/traefik/paerser/file"
	"github.com/traefik/paerser/parser"
	"gopkg.in/yaml.v3"
)

// asTraefikReads runs the file through text/template as Traefik's file
// provider does before decoding it.
func asTraefikReads(t *testing.T, content []byte) string {
	t.Helper()
	tmpl, err := template.New("dswap.yml").Parse(string(content))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, tmpl.Execute(&out, nil))
	return out.String()
}

// decodeFile decodes a rendered file the way Traefik's file provider does:
// template first, then paerser's file decoder.
func decodeFile(t *testing.T, content []byte) dynamicConfig {
	t.Helper()
	var cfg dynamicConfig
	require.NoError(t, file.DecodeContent(asTraefikReads(t, content), ".yml", &cfg))
	return cfg
}

func TestFileGolden(t *testing.T) {
	r, err := DecodeTraefik(map[string]string{
		"traefik.enable":                                      "false",
		"traefik.http.routers.web.rule":                       "Host(`example.com`)",
		"traefik.http.routers.web.entrypoints":                "websecure",
		"traefik.http.routers.web.middlewares":                "strip",
		"traefik.http.routers.web.priority":                   "10",
		"traefik.http.routers.web.tls.certresolver":           "le",
		"traefik.http.middlewares.strip.stripprefix.prefixes": "/api",
		"traefik.http.services.web.loadbalancer.server.port":  "8080",
	}, "shop", nil)
	require.NoError(t, err)

	got, err := r.File("shop", []Target{{Host: "shop-2"}})
	require.NoError(t, err)

	assert.Equal(t, `# Written by dswap for service "shop". Do not edit by hand:
# dswap rewrites this file on every swap.
# dswap-owner: "shop"
http:
  middlewares:
    strip:
      stripPrefix:
        prefixes:
          - /api
  routers:
    web:
      entryPoints:
        - websecure
      middlewares:
        - strip
      priority: "10"
      rule: Host(`+"`example.com`"+`)
      service: web
      tls:
        certResolver: le
  services:
    web:
      loadBalancer:
        servers:
          - url: http://shop-2:8080
`, string(got))
}

func TestFileIsDeterministic(t *testing.T) {
	labels := map[string]string{
		"traefik.http.routers.a.rule":                                 "Host(`a`)",
		"traefik.http.routers.a.service":                              "one",
		"traefik.http.routers.b.rule":                                 "Host(`b`)",
		"traefik.http.routers.b.service":                              "two",
		"traefik.http.routers.b.middlewares":                          "h,s",
		"traefik.http.middlewares.h.headers.customrequestheaders.X-A": "1",
		"traefik.http.middlewares.h.headers.customrequestheaders.X-B": "2",
		"traefik.http.middlewares.s.stripprefix.prefixes":             "/x,/y,/z",
		"traefik.http.services.one.loadbalancer.server.port":          "80",
		"traefik.http.services.two.loadbalancer.server.port":          "81",
		"traefik.http.services.two.loadbalancer.server.weight":        "2",
	}
	targets := []Target{{Host: "app-1"}, {Host: "app-2"}}

	r, err := DecodeTraefik(labels, "app", nil)
	require.NoError(t, err)
	first, err := r.File("app", targets)
	require.NoError(t, err)

	// Go randomises map iteration, so repeated decodes and renders would
	// expose any ordering that leaks into the output.
	for range 20 {
		again, err := DecodeTraefik(maps.Clone(labels), "app", nil)
		require.NoError(t, err)
		out, err := again.File("app", targets)
		require.NoError(t, err)
		require.Equal(t, string(first), string(out))
	}
}

func TestFileWithoutTargets(t *testing.T) {
	r, err := DecodeTraefik(simpleLabels, "app", nil)
	require.NoError(t, err)

	got, err := r.File("app", nil)
	require.NoError(t, err)
	assert.Contains(t, string(got), "servers: []\n")

	// The empty list is what keeps the load balancer decodable: a bare
	// "loadBalancer: {}" is refused by paerser.
	cfg := decodeFile(t, got)
	require.Contains(t, cfg.HTTP.Services, "web")
	require.NotNil(t, cfg.HTTP.Services["web"].LoadBalancer)
	assert.Empty(t, cfg.HTTP.Services["web"].LoadBalancer.Servers)
	assert.Equal(t, map[string][]string{"web": {}}, r.ServerURLs(nil))

	var bare dynamicConfig
	err = file.DecodeContent("http:\n  services:\n    web:\n      loadBalancer: {}\n", ".yml", &bare)
	assert.Error(t, err, "paerser must still refuse an empty load balancer, or the servers: [] workaround is moot")
}

func TestFileEscapesTemplateActions(t *testing.T) {
	rule := "Host(`example.com`) && PathRegexp(`^/{{id}}/[a-z]{2}$`)"
	r, err := DecodeTraefik(merge(simpleLabels, map[string]string{
		"traefik.http.routers.web.rule":                                   rule,
		"traefik.http.routers.web.middlewares":                            "h",
		"traefik.http.middlewares.h.headers.customresponseheaders.X-Tmpl": `{{ .Secret }} "quoted"`,
	}), "app", nil)
	require.NoError(t, err)

	got, err := r.File("app", []Target{{Host: "app-2"}})
	require.NoError(t, err)
	assert.NotContains(t, string(bytes.ReplaceAll(got, []byte(`{{"{{"}}`), nil)), "{{", "every {{ must be escaped")

	cfg := decodeFile(t, got)
	assert.Equal(t, rule, cfg.HTTP.Routers["web"].Rule)
	assert.Equal(t, `{{ .Secret }} "quoted"`, cfg.HTTP.Middlewares["h"].Headers.CustomResponseHeaders["X-Tmpl"])
}

func TestEscapeTemplate(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{in: "plain", want: "plain"},
		{in: "a{{b}}c", want: `a{{"{{"}}b}}c`},
		{in: "{{{{", want: `{{"{{"}}{{"{{"}}`},
		{in: `{{"{{"}}`, want: `{{"{{"}}"{{"{{"}}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := escapeTemplate(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in, asTraefikReads(t, []byte(got)), "the template must give back the input")
		})
	}
}

func TestServerURLs(t *testing.T) {
	r, err := DecodeTraefik(merge(simpleLabels, map[string]string{
		"traefik.http.services.web.loadbalancer.server.scheme": "h2c",
	}), "app", nil)
	require.NoError(t, err)

	targets := []Target{{Host: "app-3"}, {Host: "10.0.0.7"}, {Host: "fd00::7"}}
	want := []string{"h2c://app-3:8080", "h2c://10.0.0.7:8080", "h2c://[fd00::7]:8080"}
	assert.Equal(t, map[string][]string{"web": want}, r.ServerURLs(targets))

	// ServerURLs must describe exactly what File writes.
	got, err := r.File("app", targets)
	require.NoError(t, err)
	var urls []string
	for _, s := range decodeFile(t, got).HTTP.Services["web"].LoadBalancer.Servers {
		urls = append(urls, s.URL)
	}
	assert.Equal(t, want, urls)
}

func TestFileRejectsBadTargets(t *testing.T) {
	r, err := DecodeTraefik(simpleLabels, "app", nil)
	require.NoError(t, err)

	for _, host := range []string{"", "app 2", "app/2", "user@app"} {
		_, err := r.File("app", []Target{{Host: "app-1"}, {Host: host}})
		assert.Error(t, err, "host %q", host)
	}
}

// TestFileRoundTrip decodes File() with paerser's file decoder, as Traefik
// does, and checks the servers and router fields.
func TestFileRoundTrip(t *testing.T) {
	r, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.web.rule":                                  "Host(`example.com`) || Host(`www.example.com`)",
		"traefik.http.routers.web.entrypoints":                           "web,websecure",
		"traefik.http.routers.web.middlewares":                           "chain",
		"traefik.http.routers.web.priority":                              "42",
		"traefik.http.routers.web.tls.certresolver":                      "le",
		"traefik.http.routers.web.tls.domains[0].main":                   "example.com",
		"traefik.http.routers.web.tls.domains[0].sans":                   "www.example.com,api.example.com",
		"traefik.http.routers.web.observability.accesslogs":              "false",
		"traefik.http.middlewares.chain.chain.middlewares":               "hdr,strip",
		"traefik.http.middlewares.hdr.headers.accesscontrolallowmethods": "GET,POST",
		"traefik.http.middlewares.hdr.headers.customrequestheaders.X-A":  "a,b",
		"traefik.http.middlewares.strip.stripprefix.prefixes":            "/api",
		"traefik.http.services.web.loadbalancer.server.port":             "8080",
		"traefik.http.services.web.loadbalancer.server.weight":           "5",
		"traefik.http.services.web.loadbalancer.server.preservepath":     "true",
		"traefik.http.services.web.loadbalancer.healthcheck.interval":    "15s",
		"traefik.http.services.web.loadbalancer.sticky.cookie.name":      "srv",
	}, "app", nil)
	require.NoError(t, err)

	got, err := r.File("app", []Target{{Host: "app-1"}, {Host: "app-2"}})
	require.NoError(t, err)
	cfg := decodeFile(t, got)
	require.NotNil(t, cfg.HTTP)

	router := cfg.HTTP.Routers["web"]
	require.NotNil(t, router)
	assert.Equal(t, "Host(`example.com`) || Host(`www.example.com`)", router.Rule)
	assert.Equal(t, []string{"web", "websecure"}, router.EntryPoints)
	assert.Equal(t, []string{"chain"}, router.Middlewares)
	assert.Equal(t, "web", router.Service)
	assert.Equal(t, 42, router.Priority)
	require.NotNil(t, router.TLS)
	assert.Equal(t, "le", router.TLS.CertResolver)
	assert.Equal(t, []domainConfig{{Main: "example.com", SANs: []string{"www.example.com", "api.example.com"}}}, router.TLS.Domains)
	require.NotNil(t, router.Observability)
	require.NotNil(t, router.Observability.AccessLogs)
	assert.False(t, *router.Observability.AccessLogs)

	lb := cfg.HTTP.Services["web"].LoadBalancer
	require.NotNil(t, lb)
	weight := 5
	assert.Equal(t, []serverConfig{
		{URL: "http://app-1:8080", Weight: &weight, PreservePath: true},
		{URL: "http://app-2:8080", Weight: &weight, PreservePath: true},
	}, lb.Servers)
	require.NotNil(t, lb.HealthCheck)
	assert.EqualValues(t, 15_000_000_000, lb.HealthCheck.Interval, "15s must stay 15s, not be re-encoded")
	require.NotNil(t, lb.Sticky)
	require.NotNil(t, lb.Sticky.Cookie)
	assert.Equal(t, "srv", lb.Sticky.Cookie.Name)

	assert.Equal(t, []string{"hdr", "strip"}, cfg.HTTP.Middlewares["chain"].Chain.Middlewares)
	assert.Equal(t, []string{"GET", "POST"}, cfg.HTTP.Middlewares["hdr"].Headers.AccessControlAllowMethods)
	assert.Equal(t, map[string]string{"X-A": "a,b"}, cfg.HTTP.Middlewares["hdr"].Headers.CustomRequestHeaders)
}

// TestFileDecodesLikeLabels is the central promise: what Traefik would build
// from the labels (docker provider) and from dswap's file (file provider) is
// the same configuration, apart from the servers dswap chooses and the
// router-to-service link the docker provider would add by itself.
func TestFileDecodesLikeLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
	}{
		{
			name: "router fields",
			labels: map[string]string{
				"traefik.http.routers.web.rule":                         "Host(`a`) && (Path(`/x`) || Path(`/y`))",
				"traefik.http.routers.web.rulesyntax":                   "v3",
				"traefik.http.routers.web.entrypoints":                  " web , websecure ",
				"traefik.http.routers.web.priority":                     "-3",
				"traefik.http.routers.web.tls":                          "true",
				"traefik.http.routers.web.tls.options":                  "modern@file",
				"traefik.http.routers.web.tls.domains[0].main":          "a",
				"traefik.http.routers.web.tls.domains[1].main":          "b",
				"traefik.http.routers.web.tls.domains[1].sans":          "c,d",
				"traefik.http.routers.web.observability.tracing":        "true",
				"traefik.http.routers.web.observability.traceverbosity": "detailed",
			},
		},
		{
			name: "bare tls switch",
			labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`a`)",
				"traefik.http.routers.web.tls":  "true",
			},
		},
		{
			name: "middlewares",
			labels: map[string]string{
				"traefik.http.routers.web.rule":                                          "Host(`a`)",
				"traefik.http.middlewares.a.addprefix.prefix":                            "/v1",
				"traefik.http.middlewares.b.ipallowlist.sourcerange":                     "10.0.0.0/8, 192.168.0.0/16",
				"traefik.http.middlewares.b.ipallowlist.ipstrategy.depth":                "2",
				"traefik.http.middlewares.c.headers.customresponseheaders.X-Dotted.Name": "v",
				"traefik.http.middlewares.c.headers.sslredirect":                         "true",
				"traefik.http.middlewares.c.headers.stsseconds":                          "63072000",
				"traefik.http.middlewares.d.ratelimit.average":                           "50",
				"traefik.http.middlewares.d.ratelimit.period":                            "2m",
				"traefik.http.middlewares.d.ratelimit.sourcecriterion.requestheadername": "X-Key",
				"traefik.http.middlewares.e.compress":                                    "true",
				"traefik.http.middlewares.f.errors.status":                               "500,502-504",
				"traefik.http.middlewares.f.errors.statusrewrites.418":                   "503",
				"traefik.http.middlewares.f.errors.query":                                "/{status}.html",
				"traefik.http.middlewares.g.basicauth.users":                             "u:$apr1$x$y,v:$apr1$z$w",
				"traefik.http.middlewares.h.retry.attempts":                              "3",
				"traefik.http.middlewares.h.retry.initialinterval":                       "100ms",
				"traefik.http.middlewares.i.plugin.demo.opt":                             "x,y",
				"traefik.http.middlewares.i.plugin.demo.list[0]":                         "1",
				"traefik.http.middlewares.i.plugin.demo.list[1]":                         "2",
				"traefik.http.middlewares.i.plugin.demo.nested.key":                      "v",
				"traefik.http.middlewares.j.forwardauth.address":                         "http://auth:4181",
				"traefik.http.middlewares.j.forwardauth.authresponseheaders":             "X-User,X-Mail",
				"traefik.http.middlewares.j.forwardauth.tls.insecureskipverify":          "true",
				"traefik.http.middlewares.k.redirectscheme.scheme":                       "https",
				"traefik.http.middlewares.k.redirectscheme.port":                         "443",
				"traefik.http.middlewares.l.ipallowlist.ipstrategy":                      "true",
			},
		},
		{
			// Names YAML could mistake for other types must stay strings.
			name: "names that look like YAML scalars",
			labels: map[string]string{
				"traefik.http.routers.true.rule":                               "Host(`a`)",
				"traefik.http.routers.true.middlewares":                        "null,123",
				"traefik.http.middlewares.null.headers.customrequestheaders.1": "~",
				"traefik.http.middlewares.123.replacepath.path":                "- /x: y #z",
				"traefik.http.services.on.loadbalancer.server.port":            "8080",
			},
		},
		{
			name: "load balancer",
			labels: map[string]string{
				"traefik.http.routers.web.rule":                                           "Host(`a`)",
				"traefik.http.services.web.loadbalancer.server.port":                      "8080",
				"traefik.http.services.web.loadbalancer.strategy":                         "p2c",
				"traefik.http.services.web.loadbalancer.passhostheader":                   "false",
				"traefik.http.services.web.loadbalancer.sticky.cookie":                    "true",
				"traefik.http.services.web.loadbalancer.healthcheck.path":                 "/health",
				"traefik.http.services.web.loadbalancer.healthcheck.interval":             "10",
				"traefik.http.services.web.loadbalancer.healthcheck.timeout":              "3s",
				"traefik.http.services.web.loadbalancer.healthcheck.headers.X-Probe":      "dswap",
				"traefik.http.services.web.loadbalancer.passivehealthcheck.failurewindow": "30s",
				"traefik.http.services.web.loadbalancer.responseforwarding.flushinterval": "-1",
				"traefik.http.services.web.loadbalancer.serverstransport":                 "insecure@file",
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeTraefik(tt.labels, "app", []int{8080})
			require.NoError(t, err)
			content, err := r.File("app", []Target{{Host: "app-2"}})
			require.NoError(t, err)
			fromFile := decodeFile(t, content)

			var fromLabels dynamicConfig
			require.NoError(t, parser.Decode(tt.labels, &fromLabels, parser.DefaultRootName))

			// Align what legitimately differs: the docker provider links
			// routers and adds a default service itself, and servers come
			// from the targets.
			for name, router := range fromLabels.HTTP.Routers {
				if router.Service == "" {
					router.Service = fromFile.HTTP.Routers[name].Service
				}
			}
			if fromLabels.HTTP.Services == nil {
				fromLabels.HTTP.Services = map[string]*serviceConfig{"app": {LoadBalancer: &loadBalancerConfig{}}}
			}
			for _, svc := range fromLabels.HTTP.Services {
				svc.LoadBalancer.Servers = nil
			}
			for _, svc := range fromFile.HTTP.Services {
				assert.Len(t, svc.LoadBalancer.Servers, 1)
				svc.LoadBalancer.Servers = nil
			}

			assert.Equal(t, fromLabels, fromFile, "file:\n%s", content)
		})
	}
}

// TestYAMLListsAndCommaStrings records what was checked in paerser before
// choosing YAML sequences: its file decoder accepts both a sequence and a
// comma-separated string for a list, but only the sequence keeps an item
// that contains a comma.
func TestYAMLListsAndCommaStrings(t *testing.T) {
	decode := func(entryPoints string) []string {
		var cfg dynamicConfig
		content := "http:\n  routers:\n    r:\n      rule: x\n      entryPoints: " + entryPoints + "\n"
		require.NoError(t, file.DecodeContent(content, ".yml", &cfg))
		return cfg.HTTP.Routers["r"].EntryPoints
	}

	assert.Equal(t, []string{"a", "b"}, decode(`[a, b]`))
	assert.Equal(t, []string{"a", "b"}, decode(`"a, b"`))
	assert.Equal(t, []string{"a,b", "c"}, decode(`["a,b", c]`))

	// Scalars are written as YAML strings; paerser parses them by field type.
	var cfg dynamicConfig
	require.NoError(t, file.DecodeContent("http:\n  routers:\n    r:\n      priority: \"7\"\n", ".yml", &cfg))
	assert.Equal(t, 7, cfg.HTTP.Routers["r"].Priority)

	// And the encoder really quotes such strings, so they stay strings.
	out, err := yaml.Marshal(map[string]any{"priority": "7", "flag": "true", "empty": ""})
	require.NoError(t, err)
	assert.Equal(t, "empty: \"\"\nflag: \"true\"\npriority: \"7\"\n", string(out))
}
