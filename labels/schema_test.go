package labels

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
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

// TestSchemaTagsMatchTraefik compares the paerser tags of schema.go with
// Traefik v3.6.10's own dynamic configuration types, read from the Go module
// cache: a missing file:"allowEmpty" would make dswap refuse a section
// Traefik accepts, and an extra one would let through a file Traefik refuses
// (which stops every route of the directory from changing).
func TestSchemaTagsMatchTraefik(t *testing.T) {
	dir := traefikDynamicSource(t)
	fset := token.NewFileSet()
	structs := map[string]*ast.StructType{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gen.Specs {
				if ts, ok := spec.(*ast.TypeSpec); ok {
					if st, ok := ts.Type.(*ast.StructType); ok {
						structs[ts.Name.Name] = st
					}
				}
			}
		}
	}

	compared := 0
	seen := map[reflect.Type]bool{}
	var walk func(ours reflect.Type, theirs string, path string)
	walk = func(ours reflect.Type, theirs string, path string) {
		if seen[ours] {
			return
		}
		seen[ours] = true
		st, ok := structs[theirs]
		require.True(t, ok, "Traefik has no type %s (for %s)", theirs, path)
		fields := map[string]*ast.Field{}
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				fields[n.Name] = f
			}
		}
		for i := range ours.NumField() {
			f := ours.Field(i)
			tf, ok := fields[f.Name]
			if !ok {
				// A field of another Traefik version (v2-only settings) has
				// nothing to compare with here.
				continue
			}
			tag := reflect.StructTag("")
			if tf.Tag != nil {
				tag = reflect.StructTag(strings.Trim(tf.Tag.Value, "`"))
			}
			for _, key := range []string{"label", "file", "label-slice-as-struct"} {
				assert.Equal(t, tag.Get(key), f.Tag.Get(key), "tag %s of %s.%s", key, path, f.Name)
			}
			compared++
			elem := f.Type
			for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice || elem.Kind() == reflect.Map {
				elem = elem.Elem()
			}
			if elem.Kind() != reflect.Struct || elem == durationType {
				continue
			}
			if name := localTypeName(tf.Type); name != "" {
				walk(elem, name, path+"."+f.Name)
			}
		}
	}
	walk(reflect.TypeOf(httpConfig{}), "HTTPConfiguration", "http")
	assert.Greater(t, compared, 200, "the walk should reach every middleware's fields")
}

// localTypeName is the name of a struct type of the same package behind
// pointers, slices and maps, or "" for another package's type.
func localTypeName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.ArrayType:
			e = x.Elt
		case *ast.MapType:
			e = x.Value
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// traefikDynamicSource finds Traefik's pkg/config/dynamic in the module
// cache, where scripts/tools.sh puts it. Without it the test cannot compare,
// which is a failure under CI and a skip on a workstation.
func traefikDynamicSource(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "traefik", "traefik", "v3@v3.6.10", "pkg", "config", "dynamic")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Traefik v3.6.10's source is not in the module cache (%v): run scripts/tools.sh first", err)
		}
		t.Skipf("Traefik v3.6.10's source is not in the module cache (%v); scripts/tools.sh downloads it", err)
	}
	return dir
}
