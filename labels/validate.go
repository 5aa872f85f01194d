package labels

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/traefik/paerser/parser"
	ptypes "github.com/traefik/paerser/types"
)

// This file turns paerser's label tree into the tree dswap writes as YAML,
// checking every label against the types in schema.go on the way. The checks
// mirror what paerser would accept, because a file the file provider cannot
// decode makes Traefik drop the update of every file at once; an error here
// costs one container, an error there costs every route the provider serves.
//
// The output tree only holds string, []any and map[string]any values. Scalars
// stay the strings the user wrote, so a duration such as "1m30s" reaches
// Traefik unchanged instead of being re-encoded by paerser.

// labelSet remembers the labels exactly as written, so that errors can quote
// the key the user typed even though paerser matches names ignoring case.
type labelSet struct {
	byFold map[string]string
	sorted []string
}

// newLabelSet indexes the labels. Two keys that differ only in letter case
// land on the same paerser node, and the one sorting last silently wins; that
// is almost certainly a mistake, so it is reported instead.
func newLabelSet(labels map[string]string) (labelSet, error) {
	set := labelSet{byFold: make(map[string]string, len(labels))}
	for key := range labels {
		set.sorted = append(set.sorted, key)
	}
	sort.Strings(set.sorted)

	for _, key := range set.sorted {
		fold := strings.ToLower(key)
		if other, ok := set.byFold[fold]; ok {
			return labelSet{}, fmt.Errorf("labels %q and %q differ only in letter case and Traefik would merge them: keep one", other, key)
		}
		set.byFold[fold] = key
	}

	return set, nil
}

// keyAt returns the label written for the node at path, or, for a node with
// sub-keys, the first label below it.
func (s labelSet) keyAt(path []string) string {
	joined := strings.ToLower(joinPath(path))
	if key, ok := s.byFold[joined]; ok {
		return key
	}

	for _, key := range s.sorted {
		fold := strings.ToLower(key)
		if strings.HasPrefix(fold, joined+".") || strings.HasPrefix(fold, joined+"[") {
			return key
		}
	}

	return joinPath(path)
}

// joinPath rebuilds a label key from node names; paerser splits "name[0]"
// into two nodes, so index nodes are glued back without a dot.
func joinPath(path []string) string {
	var b strings.Builder
	for i, part := range path {
		if i > 0 && !strings.HasPrefix(part, "[") {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

func childPath(path []string, name string) []string {
	return append(append(make([]string, 0, len(path)+1), path...), name)
}

// checkKeySyntax rejects keys that paerser cannot split, before paerser sees
// them: it reports a bare "invalid element" for some and panics on a segment
// such as "name]".
func checkKeySyntax(key string) error {
	for _, part := range strings.Split(key, ".") {
		switch {
		case part == "":
			return fmt.Errorf("label %q has an empty segment between dots", key)
		case strings.HasPrefix(part, "["):
			return fmt.Errorf("label %q: segment %q starts with '[', which only follows a list name as in name[0]", key, part)
		case strings.HasSuffix(part, "]") && strings.Index(part, "[") < 1:
			return fmt.Errorf("label %q: segment %q ends with ']' without a matching name[index]", key, part)
		}
	}
	return nil
}

// walker converts label nodes to the output tree.
type walker struct {
	labels labelSet
}

var durationType = reflect.TypeOf(ptypes.Duration(0))

// convert checks node n against the Go type t and returns its YAML value.
// present is false when the node is switched off (an allowEmpty section set
// to something other than "true"), which Traefik treats as not set at all.
func (w walker) convert(n *parser.Node, path []string, t reflect.Type, field reflect.StructField) (value any, present bool, err error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}

	if t == durationType {
		return w.scalar(n, path, func(s string) error {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return nil
			}
			if _, err := time.ParseDuration(s); err != nil {
				return fmt.Errorf("label %q: %q is not a duration: use a value such as 10s or 1m30s (a bare number counts as seconds)", w.labels.keyAt(path), s)
			}
			return nil
		})
	}

	switch t.Kind() {
	case reflect.Struct:
		return w.field(n, path, t, field.Tag.Get(parser.TagLabel) == parser.TagLabelAllowEmpty)
	case reflect.Map:
		return w.mapValue(n, path, t)
	case reflect.Slice:
		if field.Tag.Get(parser.TagLabelSliceAsStruct) != "" {
			// loadbalancer.server: one list item written without an index.
			return w.section(n, path, t.Elem(), false)
		}
		if t.Elem().Kind() == reflect.Struct {
			return w.groupList(n, path, t.Elem())
		}
		return w.list(n, path)
	case reflect.String:
		return w.scalar(n, path, func(string) error { return nil })
	case reflect.Bool:
		return w.scalar(n, path, func(s string) error {
			if _, err := strconv.ParseBool(s); err != nil {
				return fmt.Errorf("label %q: %q is not a boolean: use true or false", w.labels.keyAt(path), s)
			}
			return nil
		})
	case reflect.Int, reflect.Int64:
		return w.scalar(n, path, func(s string) error {
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				return fmt.Errorf("label %q: %q is not an integer", w.labels.keyAt(path), s)
			}
			return nil
		})
	default:
		// The schema only uses the kinds above; reaching this means schema.go
		// grew a type this walker was not taught.
		return nil, false, fmt.Errorf("label %q: dswap cannot check settings of Go type %s", w.labels.keyAt(path), t)
	}
}

// scalar accepts a leaf and returns its value as written.
func (w walker) scalar(n *parser.Node, path []string, check func(string) error) (any, bool, error) {
	if len(n.Children) > 0 {
		return nil, false, fmt.Errorf("label %q: %q takes a single value, not sub-keys: write %s=<value>", w.labels.keyAt(path), n.Name, joinPath(path))
	}
	if err := check(n.Value); err != nil {
		return nil, false, err
	}
	return n.Value, true, nil
}

// list turns a comma-separated label value into a YAML sequence. paerser
// splits label lists on commas and trims each item, and decodes a YAML
// sequence item by item, so both spellings give Traefik the same list.
func (w walker) list(n *parser.Node, path []string) (any, bool, error) {
	if len(n.Children) > 0 {
		return nil, false, fmt.Errorf("label %q: %q is a list written as one comma-separated value, e.g. %s=a,b", w.labels.keyAt(path), n.Name, joinPath(path))
	}
	if n.Value == "" {
		// paerser leaves an empty list unset; so does dswap.
		return nil, false, nil
	}

	items := strings.Split(n.Value, ",")
	out := make([]any, 0, len(items))
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, false, fmt.Errorf("label %q: the comma-separated list %q has an empty item", w.labels.keyAt(path), n.Value)
		}
		out = append(out, item)
	}
	return out, true, nil
}

// groupList handles lists of sections, written name[0].field in labels. The
// items keep paerser's order, which is the sorted order of the index text.
func (w walker) groupList(n *parser.Node, path []string, elem reflect.Type) (any, bool, error) {
	if len(n.Children) == 0 {
		return nil, false, fmt.Errorf("label %q: %q is a list of groups: write %s[0].<setting>", w.labels.keyAt(path), n.Name, joinPath(path))
	}

	out := make([]any, 0, len(n.Children))
	for _, child := range n.Children {
		p := childPath(path, child.Name)
		if !strings.HasPrefix(child.Name, "[") {
			return nil, false, fmt.Errorf("label %q: %q is a list of groups: write %s[0].%s", w.labels.keyAt(p), n.Name, joinPath(path), child.Name)
		}
		v, ok, err := w.section(child, p, elem, false)
		if err != nil {
			return nil, false, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, true, nil
}

// section handles a struct: every sub-key must name one of its fields.
func (w walker) section(n *parser.Node, path []string, t reflect.Type, allowEmpty bool) (any, bool, error) {
	if allowEmpty && n.Value != "" && !strings.EqualFold(n.Value, "true") {
		// Like paerser: "tls=false" switches the section off, sub-keys and all.
		return nil, false, nil
	}

	if len(n.Children) == 0 {
		if allowEmpty {
			return map[string]any{}, true, nil
		}
		return nil, false, fmt.Errorf("label %q: %q is a group of settings, not a value: set one of them instead, e.g. %s.%s",
			w.labels.keyAt(path), n.Name, joinPath(path), fieldNames(t)[0])
	}

	out := make(map[string]any, len(n.Children))
	for _, child := range n.Children {
		p := childPath(path, child.Name)
		field, ok := findField(t, child.Name)
		if !ok {
			return nil, false, fmt.Errorf("label %q: %q is not a %s setting; valid settings are %s",
				w.labels.keyAt(p), child.Name, sectionNoun(t, n.Name), strings.Join(fieldNames(t), ", "))
		}

		v, present, err := w.convert(child, p, field.Type, field)
		if err != nil {
			return nil, false, err
		}
		if present {
			out[yamlName(field)] = v
		}
	}
	return out, true, nil
}

// field handles a section that is a field of another (a pointer to a
// struct in Traefik's types), such as a middleware's basicAuth.
func (w walker) field(n *parser.Node, path []string, t reflect.Type, allowEmpty bool) (any, bool, error) {
	v, present, err := w.section(n, path, t, allowEmpty)
	if err != nil || !present || allowEmpty || t == reflect.TypeOf(loadBalancerConfig{}) {
		// A load balancer may come out empty: dswap adds its servers.
		return v, present, err
	}
	if len(v.(map[string]any)) == 0 {
		// Every sub-key was empty or switched off, e.g. basicauth.users= from
		// compose's users=${HTPASSWD} with the variable unset. Traefik's file
		// provider refuses such a field without settings (unless its type
		// allows that, as compress does), and with it every other file's
		// update. (Routers, middlewares and list items are not fields: they
		// are completed or refused elsewhere, or accepted empty by Traefik.)
		key := w.labels.keyAt(childPath(path, n.Children[0].Name))
		return nil, false, fmt.Errorf("label %q is empty or switched off, which leaves %s with no settings; Traefik's file provider refuses such a section, and a refused file stops every route change in the directory, so dswap does not write it. Give the label a value (is a variable such as ${HTPASSWD} unset?) or remove the labels of %s",
			key, joinPath(path), joinPath(path))
	}
	return v, present, nil
}

// mapValue handles maps: their keys are names chosen by the user (headers,
// status codes, plugin settings) and keep the case they were written in.
func (w walker) mapValue(n *parser.Node, path []string, t reflect.Type) (any, bool, error) {
	if len(n.Children) == 0 {
		return nil, false, fmt.Errorf("label %q: %q is a set of named values, not a value: write %s.<name>=<value>", w.labels.keyAt(path), n.Name, joinPath(path))
	}

	out := make(map[string]any, len(n.Children))
	switch elem := t.Elem(); elem.Kind() {
	case reflect.String:
		// paerser joins deeper keys with dots ("X-Foo.bar"), so a flat YAML
		// key with the dots gives the same map.
		for _, child := range n.Children {
			flattenStrings(child, child.Name, out)
		}
	case reflect.Int:
		for _, child := range n.Children {
			v, _, err := w.convert(child, childPath(path, child.Name), elem, reflect.StructField{})
			if err != nil {
				return nil, false, err
			}
			out[child.Name] = v
		}
	case reflect.Map:
		// Plugin configurations: free-form, passed through as written.
		for _, child := range n.Children {
			if len(child.Children) == 0 {
				out[child.Name] = map[string]any{}
				continue
			}
			out[child.Name] = rawTree(child)
		}
	default:
		return nil, false, fmt.Errorf("label %q: dswap cannot check named values of Go type %s", w.labels.keyAt(path), elem)
	}
	return out, true, nil
}

func flattenStrings(n *parser.Node, key string, out map[string]any) {
	if len(n.Children) == 0 {
		out[key] = n.Value
		return
	}
	for _, child := range n.Children {
		flattenStrings(child, key+"."+child.Name, out)
	}
}

// rawTree mirrors how paerser builds free-form plugin settings: index
// children make a list, other children a map, leaves stay strings.
func rawTree(n *parser.Node) any {
	if len(n.Children) == 0 {
		return n.Value
	}
	if strings.HasPrefix(n.Children[0].Name, "[") {
		out := make([]any, 0, len(n.Children))
		for _, child := range n.Children {
			out = append(out, rawTree(child))
		}
		return out
	}
	out := make(map[string]any, len(n.Children))
	for _, child := range n.Children {
		out[child.Name] = rawTree(child)
	}
	return out
}

// findField finds the field a label segment names, ignoring case as paerser
// does. A list written in the singular in labels (loadbalancer.server) is
// found only under that singular name, again as paerser does.
func findField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		want := f.Name
		if alias := f.Tag.Get(parser.TagLabelSliceAsStruct); alias != "" {
			want = alias
		}
		if strings.EqualFold(want, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlName is the spelling written to the file for a field.
func yamlName(f reflect.StructField) string {
	if name := f.Tag.Get("yaml"); name != "" {
		return name
	}
	return f.Name
}

// fieldNames lists the label spellings of a struct's fields, for messages.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := yamlName(f)
		if alias := f.Tag.Get(parser.TagLabelSliceAsStruct); alias != "" {
			name = alias
		}
		names = append(names, name)
	}
	return names
}

// sectionNoun names a struct in messages, e.g. "router" or "stripPrefix".
func sectionNoun(t reflect.Type, nodeName string) string {
	switch t {
	case reflect.TypeOf(routerConfig{}):
		return "router"
	case reflect.TypeOf(serviceConfig{}), reflect.TypeOf(labelServiceConfig{}):
		return "service"
	case reflect.TypeOf(loadBalancerConfig{}):
		return "loadbalancer"
	case reflect.TypeOf(serverConfig{}):
		return "loadbalancer.server"
	case reflect.TypeOf(middlewareConfig{}):
		return "middleware"
	default:
		return fmt.Sprintf("%q", nodeName)
	}
}
