package labels

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/traefik/paerser/parser"
)

func TestCheckKeySyntax(t *testing.T) {
	tests := []struct {
		key     string
		wantErr string
	}{
		{key: "traefik.http.routers.web.rule"},
		{key: "traefik.http.routers.web.tls.domains[0].main"},
		{key: "traefik.http.routers..rule", wantErr: "empty segment"},
		{key: "traefik.http.routers.web.", wantErr: "empty segment"},
		{key: "traefik.http.routers.web.tls.[0].main", wantErr: "starts with '['"},
		// paerser would panic on this one.
		{key: "traefik.http.routers.web.tls.domains]", wantErr: "without a matching name[index]"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := checkKeySyntax(tt.key)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), `label "`+tt.key+`"`)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestLabelSetKeyAt(t *testing.T) {
	set, err := newLabelSet(map[string]string{
		"traefik.http.routers.Web.Rule":                "x",
		"traefik.http.routers.web.TLS.domains[0].main": "a",
		"traefik.http.routers.web.tls.domains[1].main": "b",
	})
	require.NoError(t, err)

	tests := []struct {
		path []string
		want string
	}{
		// A leaf gives back the key exactly as written, whatever the case of
		// the path (paerser names the router after its first spelling).
		{path: []string{"traefik", "http", "routers", "Web", "rule"}, want: "traefik.http.routers.Web.Rule"},
		{path: []string{"traefik", "http", "routers", "Web", "tls", "domains", "[1]", "main"}, want: "traefik.http.routers.web.tls.domains[1].main"},
		// A section gives the first key below it.
		{path: []string{"traefik", "http", "routers", "Web", "tls"}, want: "traefik.http.routers.web.TLS.domains[0].main"},
		{path: []string{"traefik", "http", "routers", "Web", "tls", "domains"}, want: "traefik.http.routers.web.TLS.domains[0].main"},
		// A label that does not exist is spelled from the path.
		{path: []string{"traefik", "http", "routers", "Web", "service"}, want: "traefik.http.routers.Web.service"},
	}
	for _, tt := range tests {
		t.Run(joinPath(tt.path), func(t *testing.T) {
			assert.Equal(t, tt.want, set.keyAt(tt.path))
		})
	}
}

func TestLabelSetRejectsCaseDuplicates(t *testing.T) {
	_, err := newLabelSet(map[string]string{
		"traefik.http.routers.web.rule": "a",
		"traefik.http.routers.WEB.RULE": "b",
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"traefik.http.routers.WEB.RULE"`)
	assert.Contains(t, err.Error(), `"traefik.http.routers.web.rule"`)
}

// TestWalkerConvert exercises the walker on single settings of each kind.
func TestWalkerConvert(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		want    any
		wantErr string
	}{
		{
			name:   "list is trimmed and split",
			labels: map[string]string{"traefik.http.routers.r.entrypoints": " a ,b"},
			want:   map[string]any{"entryPoints": []any{"a", "b"}},
		},
		{
			name:   "empty list is left unset",
			labels: map[string]string{"traefik.http.routers.r.entrypoints": ""},
			want:   map[string]any{},
		},
		{
			name:   "duration in seconds or with a unit",
			labels: map[string]string{"traefik.http.middlewares.m.retry.initialinterval": "2", "traefik.http.middlewares.m.retry.attempts": "4"},
			want:   map[string]any{"retry": map[string]any{"initialInterval": "2", "attempts": "4"}},
		},
		{
			name:   "list of groups keeps label order",
			labels: map[string]string{"traefik.http.routers.r.tls.domains[0].main": "a", "traefik.http.routers.r.tls.domains[1].main": "b"},
			want:   map[string]any{"tls": map[string]any{"domains": []any{map[string]any{"main": "a"}, map[string]any{"main": "b"}}}},
		},
		{
			name:    "list of groups without index",
			labels:  map[string]string{"traefik.http.routers.r.tls.domains.main": "a"},
			wantErr: `label "traefik.http.routers.r.tls.domains.main": "domains" is a list of groups: write traefik.http.routers.r.tls.domains[0].main`,
		},
		{
			name:    "value with sub-keys",
			labels:  map[string]string{"traefik.http.routers.r.rule.host": "a"},
			wantErr: `label "traefik.http.routers.r.rule.host": "rule" takes a single value`,
		},
		{
			name:    "named values without a name",
			labels:  map[string]string{"traefik.http.middlewares.m.headers.customrequestheaders": "X-A:1"},
			wantErr: `label "traefik.http.middlewares.m.headers.customrequestheaders": "customrequestheaders" is a set of named values`,
		},
		{
			name:    "named integer values",
			labels:  map[string]string{"traefik.http.middlewares.m.errors.statusrewrites.404": "not found"},
			wantErr: `label "traefik.http.middlewares.m.errors.statusrewrites.404": "not found" is not an integer`,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := newLabelSet(tt.labels)
			require.NoError(t, err)
			root, err := parser.DecodeToNode(tt.labels, parser.DefaultRootName)
			require.NoError(t, err)

			// root → http → routers|middlewares → name
			group := root.Children[0].Children[0]
			item := group.Children[0]
			path := []string{root.Name, root.Children[0].Name, group.Name, item.Name}
			typ := reflect.TypeOf(routerConfig{})
			if group.Name == "middlewares" {
				typ = reflect.TypeOf(middlewareConfig{})
			}

			got, _, err := walker{labels: set}.section(item, path, typ, false)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
