package labels

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSchemaYAMLNamesMatchFields guards the rule schema.go relies on: the
// spelling written to the file must reach the same Go field when paerser
// matches it case-insensitively.
func TestSchemaYAMLNamesMatchFields(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == durationType || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := f.Tag.Get("yaml")
			require.NotEmpty(t, name, "%s.%s has no yaml tag", typ, f.Name)
			assert.True(t, strings.EqualFold(name, f.Name), "%s.%s is written as %q", typ, f.Name, name)
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(dynamicConfig{}))
	assert.Greater(t, len(seen), 30, "the walk should reach every middleware type")
}

// TestMiddlewareTypes pins the list of HTTP middleware types Traefik v3.6
// accepts in labels.
func TestMiddlewareTypes(t *testing.T) {
	want := []string{
		"addPrefix", "stripPrefix", "stripPrefixRegex", "replacePath", "replacePathRegex", "chain",
		"ipWhiteList", "ipAllowList", "headers", "errors", "rateLimit", "redirectRegex", "redirectScheme",
		"basicAuth", "digestAuth", "forwardAuth", "inFlightReq", "buffering", "circuitBreaker", "compress",
		"passTLSClientCert", "retry", "contentType", "grpcWeb", "plugin",
	}
	assert.ElementsMatch(t, want, middlewareTypes)

	for _, name := range want {
		_, ok := findField(reflect.TypeOf(middlewareConfig{}), strings.ToUpper(name))
		assert.True(t, ok, "type %s must be found ignoring case", name)
	}
}
