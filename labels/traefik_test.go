package labels

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// merge returns base with the extra labels added; a value of "<delete>"
// removes the key.
func merge(base map[string]string, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	for k, v := range extra {
		if v == "<delete>" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

var simpleLabels = map[string]string{
	"traefik.enable":                                     "false",
	"traefik.http.routers.web.rule":                      "Host(`example.com`)",
	"traefik.http.services.web.loadbalancer.server.port": "8080",
}

func TestDecodeTraefik(t *testing.T) {
	tests := []struct {
		name         string
		labels       map[string]string
		service      string
		exposedPorts []int

		wantRouters  []string
		wantServices []string
		wantURLs     map[string][]string
		// wantRouterService maps router names to the service they must use.
		wantRouterService map[string]string
	}{
		{
			name:              "router, service and port",
			labels:            simpleLabels,
			service:           "app",
			wantRouters:       []string{"web"},
			wantServices:      []string{"web"},
			wantURLs:          map[string][]string{"web": {"http://app-2:8080"}},
			wantRouterService: map[string]string{"web": "web"},
		},
		{
			name: "default service is named after the dswap service",
			labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`example.com`)",
			},
			service:           "shop",
			exposedPorts:      []int{3000},
			wantRouters:       []string{"web"},
			wantServices:      []string{"shop"},
			wantURLs:          map[string][]string{"shop": {"http://app-2:3000"}},
			wantRouterService: map[string]string{"web": "shop"},
		},
		{
			name: "default service name is normalized like the docker provider does",
			labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`example.com`)",
			},
			service:           "my_shop.v2",
			exposedPorts:      []int{3000},
			wantRouters:       []string{"web"},
			wantServices:      []string{"my-shop-v2"},
			wantURLs:          map[string][]string{"my-shop-v2": {"http://app-2:3000"}},
			wantRouterService: map[string]string{"web": "my-shop-v2"},
		},
		{
			name: "default port is the single exposed port, duplicates ignored",
			labels: map[string]string{
				"traefik.http.routers.web.rule":                        "Host(`example.com`)",
				"traefik.http.services.web.loadbalancer.sticky.cookie": "true",
			},
			service:      "app",
			exposedPorts: []int{9000, 9000},
			wantRouters:  []string{"web"},
			wantServices: []string{"web"},
			wantURLs:     map[string][]string{"web": {"http://app-2:9000"}},
		},
		{
			name: "port label wins over exposed ports",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.services.web.loadbalancer.server.scheme": "https",
			}),
			service:      "app",
			exposedPorts: []int{80, 443},
			wantRouters:  []string{"web"},
			wantServices: []string{"web"},
			wantURLs:     map[string][]string{"web": {"https://app-2:8080"}},
		},
		{
			name: "several services, each router names its own",
			labels: map[string]string{
				"traefik.http.routers.site.rule":                       "Host(`example.com`)",
				"traefik.http.routers.site.service":                    "site",
				"traefik.http.routers.admin.rule":                      "Host(`admin.example.com`)",
				"traefik.http.routers.admin.service":                   "admin",
				"traefik.http.services.site.loadbalancer.server.port":  "8080",
				"traefik.http.services.admin.loadbalancer.server.port": "9090",
			},
			service:           "app",
			wantRouters:       []string{"admin", "site"},
			wantServices:      []string{"admin", "site"},
			wantURLs:          map[string][]string{"admin": {"http://app-2:9090"}, "site": {"http://app-2:8080"}},
			wantRouterService: map[string]string{"admin": "admin", "site": "site"},
		},
		{
			name: "a service without routers is allowed",
			labels: map[string]string{
				"traefik.http.services.api.loadbalancer.server.port": "8080",
			},
			service:      "app",
			wantRouters:  []string{},
			wantServices: []string{"api"},
			wantURLs:     map[string][]string{"api": {"http://app-2:8080"}},
		},
		{
			name: "router pointing at another provider's service",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.routers.legacy.rule":    "Host(`old.example.com`)",
				"traefik.http.routers.legacy.service": "legacy@file",
			}),
			service:           "app",
			wantRouters:       []string{"legacy", "web"},
			wantServices:      []string{"web"},
			wantURLs:          map[string][]string{"web": {"http://app-2:8080"}},
			wantRouterService: map[string]string{"legacy": "legacy@file", "web": "web"},
		},
		{
			name: "traefik.enable and traefik.docker labels are ignored",
			labels: merge(simpleLabels, map[string]string{
				"traefik.docker.network":         "proxy",
				"traefik.docker.allownonrunning": "true",
				"com.docker.compose.service":     "web",
			}),
			service:      "app",
			wantRouters:  []string{"web"},
			wantServices: []string{"web"},
			wantURLs:     map[string][]string{"web": {"http://app-2:8080"}},
		},
		{
			// Labels are sorted before paerser merges names ignoring case, so
			// the first spelling in byte order ("Web" < "web") names the
			// router on every run.
			name: "router names are merged ignoring case, first spelling wins",
			labels: map[string]string{
				"traefik.http.routers.Web.Rule":                      "Host(`example.com`)",
				"traefik.http.routers.web.entrypoints":               "websecure",
				"traefik.http.services.web.loadbalancer.server.port": "8080",
			},
			service:           "app",
			wantRouters:       []string{"Web"},
			wantServices:      []string{"web"},
			wantURLs:          map[string][]string{"web": {"http://app-2:8080"}},
			wantRouterService: map[string]string{"Web": "web"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeTraefik(tt.labels, tt.service, tt.exposedPorts)
			require.NoError(t, err)

			assert.Equal(t, tt.wantRouters, r.RouterNames())
			assert.Equal(t, tt.wantServices, r.ServiceNames())
			assert.Equal(t, tt.wantURLs, r.ServerURLs([]Target{{Host: "app-2"}}))
			for router, svc := range tt.wantRouterService {
				require.Contains(t, r.routers, router)
				assert.Equal(t, svc, r.routers[router]["service"], "router %s", router)
			}
		})
	}
}

func TestDecodeTraefikMixedCaseRouter(t *testing.T) {
	r, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.Web.Rule":        "Host(`example.com`)",
		"traefik.http.routers.web.entrypoints": "websecure",
		"traefik.http.routers.WEB.priority":    "5",
	}, "app", []int{80})
	require.NoError(t, err)

	require.Equal(t, []string{"WEB"}, r.RouterNames())
	assert.Equal(t, map[string]any{
		"rule":        "Host(`example.com`)",
		"entryPoints": []any{"websecure"},
		"priority":    "5",
		"service":     "app",
	}, r.routers["WEB"])
}

func TestDecodeTraefikPassthrough(t *testing.T) {
	labels := map[string]string{
		"traefik.http.routers.web.rule":                                  "Host(`example.com`)",
		"traefik.http.routers.web.middlewares":                           "secured, auth@docker",
		"traefik.http.routers.web.tls":                                   "true",
		"traefik.http.routers.web.tls.certresolver":                      "le",
		"traefik.http.routers.web.tls.domains[0].main":                   "example.com",
		"traefik.http.routers.web.tls.domains[0].sans":                   "www.example.com,api.example.com",
		"traefik.http.routers.web.tls.domains[1].main":                   "example.org",
		"traefik.http.middlewares.secured.chain.middlewares":             "strip,hdr",
		"traefik.http.middlewares.strip.stripprefix.prefixes":            "/api,/v1",
		"traefik.http.middlewares.hdr.headers.customrequestheaders.X-A":  "one,two",
		"traefik.http.middlewares.hdr.headers.accesscontrolallowmethods": "GET,OPTIONS",
		"traefik.http.middlewares.hdr.headers.stsseconds":                "31536000",
		"traefik.http.middlewares.limit.ratelimit.period":                "1m30s",
		"traefik.http.middlewares.limit.ratelimit.average":               "100",
		"traefik.http.middlewares.gz.compress":                           "true",
		"traefik.http.middlewares.oops.errors.status":                    "500-599",
		"traefik.http.middlewares.oops.errors.service":                   "web",
		"traefik.http.middlewares.oops.errors.statusrewrites.418":        "503",
		"traefik.http.middlewares.plug.plugin.demo.list[0]":              "a",
		"traefik.http.middlewares.plug.plugin.demo.list[1]":              "b",
		"traefik.http.middlewares.plug.plugin.demo.csv":                  "x,y",
		"traefik.http.services.web.loadbalancer.server.port":             "8080",
		"traefik.http.services.web.loadbalancer.healthcheck.path":        "/health",
		"traefik.http.services.web.loadbalancer.healthcheck.interval":    "10",
		"traefik.http.services.web.loadbalancer.healthcheck.headers.X-H": "v",
	}
	r, err := DecodeTraefik(labels, "app", nil)
	require.NoError(t, err)

	assert.Equal(t, map[string]any{
		"rule":        "Host(`example.com`)",
		"middlewares": []any{"secured", "auth@docker"},
		"service":     "web",
		"tls": map[string]any{
			"certResolver": "le",
			"domains": []any{
				map[string]any{"main": "example.com", "sans": []any{"www.example.com", "api.example.com"}},
				map[string]any{"main": "example.org"},
			},
		},
	}, r.routers["web"])

	assert.Equal(t, map[string]map[string]any{
		"secured": {"chain": map[string]any{"middlewares": []any{"strip", "hdr"}}},
		"strip":   {"stripPrefix": map[string]any{"prefixes": []any{"/api", "/v1"}}},
		"hdr": {"headers": map[string]any{
			// A map of strings keeps commas: Traefik does not split it.
			"customRequestHeaders":      map[string]any{"X-A": "one,two"},
			"accessControlAllowMethods": []any{"GET", "OPTIONS"},
			"stsSeconds":                "31536000",
		}},
		// Durations stay as written, never re-encoded.
		"limit": {"rateLimit": map[string]any{"period": "1m30s", "average": "100"}},
		"gz":    {"compress": map[string]any{}},
		"oops": {"errors": map[string]any{
			"status":         []any{"500-599"},
			"service":        "web",
			"statusRewrites": map[string]any{"418": "503"},
		}},
		"plug": {"plugin": map[string]any{"demo": map[string]any{"list": []any{"a", "b"}, "csv": "x,y"}}},
	}, r.middlewares)

	assert.Equal(t, map[string]any{
		"healthCheck": map[string]any{"path": "/health", "interval": "10", "headers": map[string]any{"X-H": "v"}},
	}, r.services["web"].loadBalancer)

	assert.Equal(t, []string{
		`label "traefik.http.routers.web.middlewares" uses middleware "auth@docker" from the docker provider: it only exists while the docker provider reads the container that defines it`,
	}, r.Warnings())
}

func TestDecodeTraefikSwitchedOffSection(t *testing.T) {
	// Like paerser, "tls=false" turns TLS off even when sub-keys exist.
	r, err := DecodeTraefik(merge(simpleLabels, map[string]string{
		"traefik.http.routers.web.tls":              "false",
		"traefik.http.routers.web.tls.certresolver": "le",
	}), "app", nil)
	require.NoError(t, err)
	assert.NotContains(t, r.routers["web"], "tls")
}

func TestDecodeTraefikServerSettings(t *testing.T) {
	r, err := DecodeTraefik(merge(simpleLabels, map[string]string{
		"traefik.http.services.web.loadbalancer.server.weight":       "3",
		"traefik.http.services.web.loadbalancer.server.preservepath": "true",
	}), "app", nil)
	require.NoError(t, err)

	svc := r.services["web"]
	assert.Equal(t, "3", svc.weight)
	assert.Equal(t, "true", svc.preservePath)
	assert.Equal(t, 8080, svc.port)
	assert.NotContains(t, svc.loadBalancer, "servers", "servers are only written per target")
}

// TestDecodeTraefikErrors checks that every refusal names the label the user
// has to change, spelled as they wrote it.
func TestDecodeTraefikErrors(t *testing.T) {
	tests := []struct {
		name         string
		labels       map[string]string
		exposedPorts []int
		wantErr      []string
	}{
		{
			name:    "no traefik.http labels",
			labels:  map[string]string{"traefik.enable": "true", "other": "x"},
			wantErr: []string{"no traefik.http.* labels", "traefik.http.routers.<name>.rule"},
		},
		{
			name:    "tcp label",
			labels:  merge(simpleLabels, map[string]string{"traefik.tcp.routers.db.rule": "HostSNI(`*`)"}),
			wantErr: []string{`label "traefik.tcp.routers.db.rule"`, "does not route TCP/UDP yet"},
		},
		{
			name:    "udp label",
			labels:  merge(simpleLabels, map[string]string{"traefik.udp.services.dns.loadbalancer.server.port": "53"}),
			wantErr: []string{`label "traefik.udp.services.dns.loadbalancer.server.port"`, "does not route TCP/UDP yet"},
		},
		{
			name:    "tls store label",
			labels:  merge(simpleLabels, map[string]string{"traefik.tls.stores.default.defaultgeneratedcert.resolver": "le"}),
			wantErr: []string{`label "traefik.tls.stores.default.defaultgeneratedcert.resolver"`, "TLS stores"},
		},
		{
			name:    "unknown traefik section",
			labels:  merge(simpleLabels, map[string]string{"traefik.frontend.rule": "Host:x"}),
			wantErr: []string{`label "traefik.frontend.rule" is not a Traefik v3 HTTP label`},
		},
		{
			name:    "capitalised root",
			labels:  merge(simpleLabels, map[string]string{"Traefik.http.routers.web.priority": "1"}),
			wantErr: []string{`label "Traefik.http.routers.web.priority"`, `lowercase "traefik."`},
		},
		{
			name:    "empty segment",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers..rule": "x"}),
			wantErr: []string{`label "traefik.http.routers..rule" has an empty segment`},
		},
		{
			name:    "bracket without index",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.tls.domains]": "x"}),
			wantErr: []string{`label "traefik.http.routers.web.tls.domains]"`, "name[index]"},
		},
		{
			name: "keys differing only in case",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.routers.web.Rule": "Host(`other.example.com`)",
			}),
			wantErr: []string{`"traefik.http.routers.web.Rule"`, `"traefik.http.routers.web.rule"`, "differ only in letter case"},
		},
		{
			name:    "bare traefik.http",
			labels:  map[string]string{"traefik.http": "true"},
			wantErr: []string{`label "traefik.http" has no effect`},
		},
		{
			name:    "unsupported http section",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.serverstransports.st.insecureskipverify": "true"}),
			wantErr: []string{`label "traefik.http.serverstransports.st.insecureskipverify"`, "routers, services and middlewares"},
		},
		{
			name:    "unknown router field",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.rulle": "Host(`x`)"}),
			wantErr: []string{`label "traefik.http.routers.web.rulle": "rulle" is not a router setting`, "entryPoints, middlewares, service, rule"},
		},
		{
			name:    "unknown field below a router field",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.tls.certresolvr": "le"}),
			wantErr: []string{`label "traefik.http.routers.web.tls.certresolvr"`, "options, certResolver, domains"},
		},
		{
			name:    "non-integer priority",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.priority": "high"}),
			wantErr: []string{`label "traefik.http.routers.web.priority": "high" is not an integer`},
		},
		{
			name:    "non-boolean observability",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.observability.accesslogs": "yes"}),
			wantErr: []string{`label "traefik.http.routers.web.observability.accesslogs": "yes" is not a boolean`},
		},
		{
			name:    "list written with indexes",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.entrypoints[0]": "web"}),
			wantErr: []string{`label "traefik.http.routers.web.entrypoints[0]"`, "comma-separated value"},
		},
		{
			name:    "empty list item",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.entrypoints": "web,,websecure"}),
			wantErr: []string{`label "traefik.http.routers.web.entrypoints"`, "empty item"},
		},
		{
			name:    "value given to a section",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.observability": "true"}),
			wantErr: []string{`label "traefik.http.routers.web.observability"`, "group of settings", "traefik.http.routers.web.observability.accessLogs"},
		},
		{
			name:    "router without settings",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.api": "true"}),
			wantErr: []string{`label "traefik.http.routers.api"`, "a router needs settings"},
		},
		{
			name:    "router without rule",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.api.entrypoints": "web"}),
			wantErr: []string{`router "api" has no rule`, `"traefik.http.routers.api.rule"`},
		},
		{
			name:    "router with empty rule",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.rule": " "}),
			wantErr: []string{`router "web" has no rule`, `"traefik.http.routers.web.rule"`},
		},
		{
			name:    "router referencing a missing service",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.service": "api"}),
			wantErr: []string{`label "traefik.http.routers.web.service": service "api" is not defined`, "api@file"},
		},
		{
			name:    "router referencing a service with the wrong case",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.Service": "Web"}),
			wantErr: []string{`label "traefik.http.routers.web.Service": service "Web" is not defined, but "web" is`},
		},
		{
			name: "several services and a router without service",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.services.admin.loadbalancer.server.port": "9090",
			}),
			wantErr: []string{`router "web" has no service`, "admin, web", `"traefik.http.routers.web.service"`},
		},
		{
			name:    "router referencing a missing middleware",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.routers.web.middlewares": "auth"}),
			wantErr: []string{`label "traefik.http.routers.web.middlewares": middleware "auth" is not defined`, "auth@file"},
		},
		{
			name: "chain referencing a missing middleware",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.middlewares.all.chain.middlewares": "gone",
			}),
			wantErr: []string{`label "traefik.http.middlewares.all.chain.middlewares": middleware "gone" is not defined`},
		},
		{
			name:    "middleware without type",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.middlewares.strip": "true"}),
			wantErr: []string{`label "traefik.http.middlewares.strip": a middleware needs exactly one type`, "stripPrefix"},
		},
		{
			name: "middleware with two types",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.middlewares.both.stripprefix.prefixes": "/api",
				"traefik.http.middlewares.both.addprefix.prefix":     "/v1",
			}),
			wantErr: []string{`"traefik.http.middlewares.both.addprefix.prefix"`, `"traefik.http.middlewares.both.stripprefix.prefixes"`, "exactly one type"},
		},
		{
			name:    "unknown middleware type",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.middlewares.m.stripprefixes.prefixes": "/api"}),
			wantErr: []string{`label "traefik.http.middlewares.m.stripprefixes.prefixes": "stripprefixes" is not a middleware type`, "stripPrefix"},
		},
		{
			name:    "unknown middleware field",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.middlewares.m.stripprefix.prefix": "/api"}),
			wantErr: []string{`label "traefik.http.middlewares.m.stripprefix.prefix": "prefix" is not a "stripprefix" setting`, "prefixes"},
		},
		{
			name:    "switched-off only type",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.middlewares.gz.compress": "false"}),
			wantErr: []string{`label "traefik.http.middlewares.gz.compress" switches off the only type`},
		},
		{
			name:    "malformed middleware duration",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.middlewares.rl.ratelimit.period": "soon"}),
			wantErr: []string{`label "traefik.http.middlewares.rl.ratelimit.period": "soon" is not a duration`},
		},
		{
			name:    "unknown loadbalancer field",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.stiky": "true"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.stiky": "stiky" is not a loadbalancer setting`, "sticky, server, strategy, healthCheck, passiveHealthCheck, passHostHeader, responseForwarding, serversTransport"},
		},
		{
			name:    "servers in the plural",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.servers.port": "80"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.servers.port": "servers" is not a loadbalancer setting`},
		},
		{
			name:    "unknown service kind",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.w.weighted.services[0].name": "web"}),
			wantErr: []string{`label "traefik.http.services.w.weighted.services[0].name": "weighted" is not a service setting`},
		},
		{
			name:    "fixed server url",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.server.url": "http://10.0.0.5:8080"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.server.url"`, "cannot switch", "loadbalancer.server.port"},
		},
		{
			name:    "non-integer port",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.server.port": "http"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.server.port": "http" is not an integer`},
		},
		{
			name:    "port out of range",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.server.port": "70000"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.server.port": port 70000 is outside 1-65535`},
		},
		{
			name:    "unknown scheme",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.server.scheme": "ftp"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.server.scheme": scheme "ftp"`},
		},
		{
			name:    "non-integer weight",
			labels:  merge(simpleLabels, map[string]string{"traefik.http.services.web.loadbalancer.server.weight": "heavy"}),
			wantErr: []string{`label "traefik.http.services.web.loadbalancer.server.weight": "heavy" is not an integer`},
		},
		{
			name: "no port and nothing exposed",
			labels: merge(simpleLabels, map[string]string{
				"traefik.http.services.web.loadbalancer.server.port":    "<delete>",
				"traefik.http.services.web.loadbalancer.passhostheader": "true",
			}),
			wantErr: []string{`service "web" has no port`, `"traefik.http.services.web.loadbalancer.server.port"`},
		},
		{
			name: "no port and several exposed",
			labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`example.com`)",
			},
			exposedPorts: []int{8080, 80},
			wantErr:      []string{`service "app" has no port`, "several (80, 8080)", `"traefik.http.services.app.loadbalancer.server.port"`},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeTraefik(tt.labels, "app", tt.exposedPorts)
			require.Error(t, err)
			assert.Nil(t, r)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
