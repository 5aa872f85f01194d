package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed marks a value that does not parse as its setting's kind.
var ErrMalformed = errors.New("malformed setting")

// ValueError is a malformed value, with the layer and key that gave it:
// `DSWAP_DRAIN "10" is not a duration: missing unit, e.g. 10s`.
type ValueError struct {
	// Where names the layer and key, e.g. "--drain", "DSWAP_DRAIN",
	// "label dswap.drain", "x-dswap drain" or "request field drain".
	Where string
	Value string
	// Reason says what the value is, e.g. "not true or false".
	Reason string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s %q is %s", e.Where, e.Value, e.Reason)
}

func (e *ValueError) Is(target error) bool { return target == ErrMalformed }

// Parse reads value as s's kind: the one parser of each kind, whatever
// layer the value came from. where names the layer and key for errors.
func (s *Setting) Parse(where, value string) (any, error) {
	reason := ""
	var v any
	switch s.Kind {
	case Duration:
		v, reason = parseDuration(value)
	case Int:
		v, reason = parseInt(value)
	case Ratio:
		v, reason = parseRatio(value)
	case Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			reason = "not true or false"
		}
		v = b
	case Enum:
		if !slices.Contains(s.Values, value) {
			reason = "not " + orList(s.Values)
		}
		v = value
	case Commands:
		v, reason = parseCommands(value)
	case String, List:
		if strings.TrimSpace(value) == "" {
			reason = "empty: give it a value or leave it out"
		}
		v = value
	}
	if reason != "" {
		return nil, &ValueError{Where: where, Value: value, Reason: reason}
	}
	return v, nil
}

// parseDuration requires a unit: "30" is ambiguous between seconds
// (Traefik's reading) and nanoseconds (Go's), so dswap asks for "30s".
func parseDuration(value string) (time.Duration, string) {
	d, err := time.ParseDuration(value)
	switch {
	case err != nil && strings.Contains(err.Error(), "missing unit"):
		return 0, "not a duration: missing unit, e.g. " + value + "s"
	case err != nil:
		return 0, "not a duration such as 30s or 1m30s"
	case d < 0:
		return 0, "negative: durations are zero or more"
	}
	return d, ""
}

func parseInt(value string) (int, string) {
	n, err := strconv.Atoi(value)
	switch {
	case err != nil:
		return 0, "not a whole number"
	case n < 0:
		return 0, "negative: want zero or more"
	}
	return n, ""
}

func parseRatio(value string) (float64, string) {
	f, err := strconv.ParseFloat(value, 64)
	switch {
	case err != nil:
		return 0, "not a number"
	case f < 0 || f > 1:
		return 0, "out of range: want a value from 0 to 1"
	}
	return f, ""
}

func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// parseCommands reads commands one a line; each is a shell command, or a
// JSON array of strings for the exec form. Blank lines are skipped.
func parseCommands(value string) ([]string, string) {
	var out []string
	for _, line := range strings.Split(value, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			var args []string
			if err := json.Unmarshal([]byte(line), &args); err != nil || len(args) == 0 || slices.Contains(args, "") {
				return nil, "neither a shell command nor a JSON array of strings such as [\"/app\",\"migrate\"]: " + line
			}
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, "empty: give a command or leave it out"
	}
	return out, ""
}

// Format writes a value of s's kind as Parse reads it back.
func (s *Setting) Format(v any) string {
	switch v := v.(type) {
	case []string:
		return strings.Join(v, "\n")
	case time.Duration:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// Lands says whether the setting has a place in Overrides.
func (s *Setting) Lands() bool { return s.field != nil }

// Value returns s's value in o, and whether o sets it.
func (s *Setting) Value(o *Overrides) (any, bool) {
	if s.field == nil {
		return nil, false
	}
	switch p := s.field(o).(type) {
	case **time.Duration:
		return deref(*p)
	case **int:
		return deref(*p)
	case **float64:
		return deref(*p)
	case **bool:
		return deref(*p)
	case **string:
		return deref(*p)
	case **[]string:
		return deref(*p)
	}
	panic("settings: " + s.Name + " lands in a field of an unknown type")
}

func deref[T any](p *T) (any, bool) {
	if p == nil {
		return nil, false
	}
	return *p, true
}

// Set puts v, of s's kind, into o; a nil v unsets it.
func (s *Setting) Set(o *Overrides, v any) {
	switch p := s.field(o).(type) {
	case **time.Duration:
		setPtr(p, v)
	case **int:
		setPtr(p, v)
	case **float64:
		setPtr(p, v)
	case **bool:
		setPtr(p, v)
	case **string:
		setPtr(p, v)
	case **[]string:
		setPtr(p, v)
	default:
		panic("settings: " + s.Name + " lands in a field of an unknown type")
	}
}

func setPtr[T any](p **T, v any) {
	if v == nil {
		*p = nil
		return
	}
	t := v.(T)
	*p = &t
}
