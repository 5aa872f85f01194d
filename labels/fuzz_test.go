package labels

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets hold dswap to one promise: a label set that
// DecodeTraefik accepts renders a file that Traefik's file provider
// accepts (CheckFile is the oracle), and a label set that would give a file
// Traefik refuses is refused by the label checks themselves, with the label
// named, rather than only by the last-resort check on the rendered file.
// Neither step may panic.

// FuzzDecodeTraefik decodes arbitrary label sets, written one "key=value"
// per line.
func FuzzDecodeTraefik(f *testing.F) {
	for _, seed := range testLabelSets(f) {
		f.Add(encodeLabels(seed), "web", 8080)
	}
	f.Fuzz(func(t *testing.T, text, service string, port int) {
		lbls := decodeLabels(text)
		r, err := DecodeTraefik(lbls, service, []int{port})
		if err != nil {
			if errors.Is(err, errTraefikRefuses) {
				t.Fatalf("labels passed every label check but render a file Traefik refuses:\n%s\n%v", text, err)
			}
			return
		}
		content, err := r.File(service, []Target{{Host: "web-1"}, {Host: "10.0.0.2"}})
		if err != nil {
			t.Fatalf("accepted labels do not render:\n%s\n%v", text, err)
		}
		if err := CheckFile("dswap.yml", content); err != nil {
			t.Fatalf("accepted labels render a file Traefik refuses:\n%s\n%s\n%v", text, content, err)
		}
	})
}

// FuzzRoutingFile renders accepted label sets for arbitrary service names
// and hosts: the file records its owner exactly, reads back with the
// servers ServerURLs promises, and a host that cannot be a server is the
// only reason to refuse.
func FuzzRoutingFile(f *testing.F) {
	for _, seed := range testLabelSets(f) {
		f.Add(encodeLabels(seed), "shop/web", "web-2")
	}
	f.Add("traefik.http.routers.r.rule=Host(`{{x}}`)", "a\"b\n{{c}}", "::1")
	f.Fuzz(func(t *testing.T, text, service, host string) {
		r, err := DecodeTraefik(decodeLabels(text), "web", []int{80})
		if err != nil {
			return
		}
		targets := []Target{{Host: host}}
		content, err := r.File(service, targets)
		if err != nil {
			if checkHost(host) == nil {
				t.Fatalf("rendering for service %q, host %q failed: %v", service, host, err)
			}
			return
		}
		if err := CheckFile("dswap.yml", content); err != nil {
			t.Fatalf("rendered file is refused: %v\n%s", err, content)
		}
		owner, ok := FileOwner(content)
		if !ok || owner != service {
			t.Fatalf("owner %q (%v), want %q", owner, ok, service)
		}
		rf, err := ReadRouteFile(content)
		if err != nil {
			t.Fatalf("rendered file does not read back: %v\n%s", err, content)
		}
		for name, urls := range r.ServerURLs(targets) {
			if strings.Join(rf.Servers[name], " ") != strings.Join(urls, " ") {
				t.Fatalf("service %s: file has %v, ServerURLs %v", name, rf.Servers[name], urls)
			}
		}
	})
}

// testLabelSets collects every map[string]string literal of this package's
// tests whose keys and values are string literals: the label sets the unit
// tests use, edge cases included.
func testLabelSets(f *testing.F) []map[string]string {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		f.Fatal(err)
	}
	var out []map[string]string
	fset := token.NewFileSet()
	for _, name := range files {
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			f.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if mt, ok := lit.Type.(*ast.MapType); !ok || exprString(mt.Key) != "string" || exprString(mt.Value) != "string" {
				return true
			}
			set := map[string]string{}
			for _, elt := range lit.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					return true
				}
				k, kok := stringLit(kv.Key)
				v, vok := stringLit(kv.Value)
				if !kok || !vok {
					return true
				}
				set[k] = v
			}
			if len(set) > 0 {
				out = append(out, set)
			}
			return true
		})
	}
	if len(out) < 20 {
		f.Fatalf("found only %d label sets in the tests", len(out))
	}
	return out
}

func exprString(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	if bin, ok := e.(*ast.BinaryExpr); ok && bin.Op == token.ADD {
		l, lok := stringLit(bin.X)
		r, rok := stringLit(bin.Y)
		return l + r, lok && rok
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func encodeLabels(set map[string]string) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + set[k] + "\n")
	}
	return b.String()
}

func decodeLabels(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}
