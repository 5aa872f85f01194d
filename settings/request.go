package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Request is a swap as asked for: the image, the service and the
// settings the caller's layers set. A local `dswap up` runs it; with
// DSWAP_HOST it is what goes to the sidecar, which decodes the same type.
// Its JSON is the body of POST /v1/services/{service}/swap: "image",
// "service", and each setting's API field (durations as strings such as
// "30s"); unknown fields are an error.
type Request struct {
	Image   string
	Service string
	Overrides
}

// MarshalJSON writes the request with the settings that are set.
func (r Request) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	write := func(key string, v any) {
		if b.Len() > 1 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(key)
		val, _ := json.Marshal(v)
		b.Write(k)
		b.WriteString(":")
		b.Write(val)
	}
	write("image", r.Image)
	if r.Service != "" {
		write("service", r.Service)
	}
	for _, s := range All {
		if s.JSON == "" || s.field == nil {
			continue
		}
		if v, ok := s.Value(&r.Overrides); ok {
			if s.Kind == Duration {
				v = s.Format(v) // "30s", not nanoseconds
			}
			write(s.JSON, v)
		}
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// UnmarshalJSON reads a request, refusing unknown fields.
func (r *Request) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	var out Request
	for key, dst := range map[string]*string{"image": &out.Image, "service": &out.Service} {
		if raw, ok := fields[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return &ValueError{Where: "request field " + key, Value: string(raw), Reason: "not a JSON string"}
			}
			delete(fields, key)
		}
	}
	over, err := DecodeFields(fields, func(*Setting) bool { return true })
	if err != nil {
		return err
	}
	out.Overrides = over
	*r = out
	return nil
}

// DecodeFields reads settings from the fields of a JSON object; allowed
// picks the settings this object may carry, and any other field is an
// error. An empty string or null leaves a setting unset.
func DecodeFields(fields map[string]json.RawMessage, allowed func(*Setting) bool) (Overrides, error) {
	known := map[string]bool{}
	for _, s := range All {
		if s.JSON != "" && s.field != nil && allowed(s) {
			known[s.JSON] = true
		}
	}
	var unknown []string
	for k := range fields {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown) // the same field is reported on every run
		return Overrides{}, fmt.Errorf("json: unknown field %q", unknown[0])
	}
	return Read(Source{
		Layer: "request field",
		Key: func(s *Setting) string {
			if s.field == nil || !known[s.JSON] {
				return ""
			}
			return s.JSON
		},
		Lookup: func(s *Setting, k string) (string, bool) {
			raw, ok := fields[k]
			if !ok {
				return "", false
			}
			return jsonText(s, raw)
		},
	})
}

// jsonText turns a JSON value into the text its kind's parser reads: a
// string's content, a number or boolean as written. A value of the wrong
// JSON type is passed on quoted, so that the parser refuses it.
func jsonText(s *Setting, raw json.RawMessage) (string, bool) {
	text := strings.TrimSpace(string(raw))
	if text == "null" || text == `""` {
		return "", false
	}
	if s.Kind == Commands && strings.HasPrefix(text, "[") {
		// A list of commands: each a shell command (a string) or an exec
		// form (an array of strings).
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return text, true
		}
		lines := make([]string, 0, len(items))
		for _, it := range items {
			var str string
			if json.Unmarshal(it, &str) == nil {
				lines = append(lines, str)
				continue
			}
			lines = append(lines, strings.TrimSpace(string(it)))
		}
		return strings.Join(lines, "\n"), true
	}
	isString := strings.HasPrefix(text, `"`)
	wantString := s.Kind == Duration || s.Kind == String || s.Kind == Enum || s.Kind == Commands
	if isString != wantString {
		return text, true
	}
	if isString {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return text, true
		}
		return v, true
	}
	return text, true
}
