package labels

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmptyListLabelsAreRefused covers the labels compose produces for an
// unset variable (users=${HTPASSWD}): each would leave its middleware with
// no settings, a section Traefik's file provider refuses, and one refused
// file stops every route of the directory from changing.
func TestEmptyListLabelsAreRefused(t *testing.T) {
	base := map[string]string{
		"traefik.http.routers.web.rule":                      "Host(`example.com`)",
		"traefik.http.routers.web.middlewares":               "m",
		"traefik.http.services.web.loadbalancer.server.port": "8080",
	}
	for _, label := range []string{
		"traefik.http.middlewares.m.basicauth.users",
		"traefik.http.middlewares.m.stripprefix.prefixes",
		"traefik.http.middlewares.m.ipallowlist.sourcerange",
		"traefik.http.middlewares.m.chain.middlewares",
		"traefik.http.middlewares.m.digestauth.users",
		"traefik.http.middlewares.m.stripprefixregex.regex",
	} {
		t.Run(label, func(t *testing.T) {
			_, err := DecodeTraefik(merge(base, map[string]string{label: ""}), "web", nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), label)
			assert.Contains(t, err.Error(), "empty")
		})
	}
}

// TestCheckFileRefusesWhatTraefikRefuses pins the oracle itself: each of
// these files is one Traefik v3.6.10's file provider refuses (checked against
// the real Traefik in e2e), and each accepted one it accepts.
func TestCheckFileRefusesWhatTraefikRefuses(t *testing.T) {
	refused := map[string]string{
		"empty basicAuth":      "http:\n  middlewares:\n    m:\n      basicAuth: {}\n",
		"empty stripPrefix":    "http:\n  middlewares:\n    m:\n      stripPrefix: {}\n",
		"empty ipAllowList":    "http:\n  middlewares:\n    m:\n      ipAllowList: {}\n",
		"empty chain":          "http:\n  middlewares:\n    m:\n      chain: {}\n",
		"empty load balancer":  "http:\n  services:\n    s:\n      loadBalancer: {}\n",
		"unknown field":        "http:\n  routers:\n    r:\n      rule: Host(`a`)\n      colour: red\n",
		"not a number":         "http:\n  routers:\n    r:\n      rule: Host(`a`)\n      priority: high\n",
		"not YAML":             "http: [\n",
		"broken template":      "http:\n  routers:\n    r:\n      rule: Host(`{{`)\n",
		"half written":         "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://a:80\n        sticky:\n          cookie:\n            secure: tr",
		"template that errors": "http:\n  routers:\n    r:\n      rule: '{{ .Nothing.Here }}'\n",
	}
	for name, content := range refused {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, CheckFile("dswap-web.yml", []byte(content)))
		})
	}
	accepted := map[string]string{
		"empty compress":      "http:\n  middlewares:\n    m:\n      compress: {}\n",
		"empty tls":           "http:\n  routers:\n    r:\n      rule: Host(`a`)\n      tls: {}\n",
		"no servers":          "http:\n  services:\n    s:\n      loadBalancer:\n        servers: []\n",
		"generation marker":   "http:\n  middlewares:\n    dswap-gen-web:\n      headers:\n        customResponseHeaders:\n          X-Dswap-Generation: \"7\"\n",
		"escaped braces":      "http:\n  routers:\n    r:\n      rule: 'PathRegexp(`^/a{{\"{{\"}}2}$`)'\n",
		"toml":                "[http.routers.r]\n  rule = \"Host(`a`)\"\n",
		"comments only (yml)": "# nothing yet\n",
	}
	for name, content := range accepted {
		t.Run(name, func(t *testing.T) {
			file := "dswap-web.yml"
			if name == "toml" {
				file = "hand.toml"
			}
			assert.NoError(t, CheckFile(file, []byte(content)))
		})
	}
}

// TestReadConfigFile reads hand-written files of the routes directory, in
// both formats Traefik reads and through its template step.
func TestReadConfigFile(t *testing.T) {
	toml := "[http.middlewares.auth.basicAuth]\n  users = [\"u:$apr1$x\"]\n[http.routers.admin]\n  rule = \"Host(`a`)\"\n  service = \"api@internal\"\n" +
		"[[http.services.legacy.loadBalancer.servers]]\n  url = \"http://10.0.0.1:80\"\n"
	rf, err := ReadConfigFile("auth.toml", []byte(toml))
	require.NoError(t, err)
	assert.Equal(t, []string{"auth"}, rf.Middlewares)
	assert.Equal(t, []string{"admin"}, rf.Routers)
	assert.Equal(t, []string{"legacy"}, rf.Services)
	assert.Equal(t, map[string][]string{"legacy": {"http://10.0.0.1:80"}}, rf.Servers)

	// Templates may call sprig's functions and Traefik's own, as Traefik's
	// file provider allows.
	tmpl := "http:\n  routers:\n    {{ normalize \"my app\" }}:\n      rule: Host(`{{ lower \"A.example\" }}`)\n      service: s\n"
	rf, err = ReadConfigFile("t.yml", []byte(tmpl))
	require.NoError(t, err)
	assert.Equal(t, []string{"my-app"}, rf.Routers)

	for name, bad := range map[string]string{
		"bad.toml":  "[http.routers\n",
		"bad.yml":   "http: [\n",
		"tmpl.yaml": "http: {{ nosuchfunc }}\n",
	} {
		_, err := ReadConfigFile(name, []byte(bad))
		assert.Error(t, err, name)
	}
}

// TestEmptyListItemIsAccepted: Traefik accepts an empty item in a list of
// sections (tls.domains: [{}]), so dswap does too.
func TestEmptyListItemIsAccepted(t *testing.T) {
	_, err := DecodeTraefik(map[string]string{
		"traefik.http.routers.web.rule":                "Host(`example.com`)",
		"traefik.http.routers.web.tls.domains[0].sans": "",
	}, "web", []int{80})
	assert.NoError(t, err)
}
