package labels

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/sprig/v3"
	"github.com/traefik/paerser/file"
	"gopkg.in/yaml.v3"
)

// CheckFile reads a route file the way Traefik v3's file provider reads each
// file of its directory, and returns the error Traefik would meet. name is
// the file's name; only its extension matters (.yml, .yaml or .toml).
//
// Traefik runs the file through Go's text/template, then decodes it with
// paerser's file decoder into its dynamic configuration types. If one file
// of the directory fails either step, Traefik drops the whole update of the
// directory: no route of any service changes until the file is fixed. So
// dswap checks every file it writes, before it reaches the directory, with
// the same decoder and the types of schema.go, whose paerser tags (allowEmpty
// in particular) follow Traefik's.
//
// The check covers the HTTP part that dswap writes. Other top-level sections
// (tcp, udp, tls) are not modelled and are ignored, as paerser ignores root
// keys the target type lacks.
func CheckFile(name string, content []byte) error {
	rendered, err := executeTemplate(name, string(content), nil)
	if err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(name))
	var cfg dynamicConfig
	if err := file.DecodeContent(rendered, ext, &cfg); err != nil {
		return fmt.Errorf("decoding %s as Traefik's file provider does: %w", name, err)
	}
	return nil
}

// executeTemplate renders a file as the file provider does before decoding:
// the whole text is a text/template, executed with the value false. funcs
// are the functions the template may call; Traefik offers sprig's and a few
// of its own, dswap's own files call none.
func executeTemplate(name, content string, funcs template.FuncMap) (string, error) {
	tmpl, err := template.New(name).Funcs(funcs).Parse(content)
	if err != nil {
		return "", fmt.Errorf("%s is not a valid Go template, which Traefik's file provider requires: %w", name, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, false); err != nil {
		return "", fmt.Errorf("running %s as a template, as Traefik's file provider does: %w", name, err)
	}
	return out.String(), nil
}

// ReadConfigFile reads any file of the routes directory as Traefik's file
// provider does (the template step with Traefik's functions, then YAML or
// TOML by extension) and returns the names it defines. dswap uses it for
// the files it does not own, which may be hand-written in either format and
// define what schema.go does not model (TCP, TLS, weighted services); only
// their names matter to dswap, so they are decoded loosely. An error means
// Traefik cannot read the file either.
func ReadConfigFile(name string, content []byte) (*RouteFile, error) {
	rendered, err := executeTemplate(name, string(content), traefikTemplateFuncs())
	if err != nil {
		return nil, err
	}
	doc := map[string]any{}
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".toml":
		if _, err := toml.Decode(rendered, &doc); err != nil {
			return nil, fmt.Errorf("%s is not TOML: %w", name, err)
		}
	case ".yml", ".yaml":
		if err := yaml.Unmarshal([]byte(rendered), &doc); err != nil {
			return nil, fmt.Errorf("%s is not YAML: %w", name, err)
		}
	default:
		return nil, fmt.Errorf("%s: Traefik's file provider reads only .yml, .yaml and .toml files", name)
	}
	return routeFileOf(doc), nil
}

// traefikTemplateFuncs are the functions Traefik's file provider offers to
// a file's template: sprig's text functions (Traefik v3.6 pins sprig
// v3.2.3, as dswap does), normalize and split.
func traefikTemplateFuncs() template.FuncMap {
	funcs := sprig.TxtFuncMap()
	funcs["normalize"] = normalizeName
	funcs["split"] = strings.Split
	return funcs
}
