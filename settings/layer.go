package settings

import (
	"fmt"
	"strings"
)

// Source is one layer that gives settings as text: flags, DSWAP_*
// variables, dswap.* labels, x-dswap keys, the fields of a request.
type Source struct {
	// Layer names the layer in errors before the key ("label"), or is
	// empty where the key says it ("--drain", "DSWAP_DRAIN").
	Layer string
	// Key is s's key in this layer; "" when the layer cannot set s.
	Key func(s *Setting) string
	// Lookup returns the value of key, if the layer sets it.
	Lookup func(s *Setting, key string) (string, bool)
}

// where names a key of the layer for errors.
func (src Source) where(key string) string {
	if src.Layer == "" {
		return key
	}
	return src.Layer + " " + key
}

// lookup returns s's value in src, and where it came from.
func (src Source) lookup(s *Setting) (value, where string, ok bool) {
	key := src.Key(s)
	if key == "" {
		return "", "", false
	}
	value, ok = src.Lookup(s, key)
	return value, src.where(key), ok
}

// Read layers the sources, highest first: each setting takes its value
// from the first source that sets it, parsed by the parser of its kind. A
// malformed value is an error naming the layer and the key, never a
// fall-back to a lower layer.
func Read(sources ...Source) (Overrides, error) {
	var o Overrides
	type applied struct {
		s     *Setting
		v     any
		where string
	}
	var later []applied
	for _, s := range All {
		if s.field == nil && s.apply == nil {
			continue
		}
		for _, src := range sources {
			raw, where, ok := src.lookup(s)
			if !ok {
				continue
			}
			v, err := s.Parse(where, raw)
			if err != nil {
				return Overrides{}, err
			}
			if s.field != nil {
				s.Set(&o, v)
			} else {
				later = append(later, applied{s, v, where})
			}
			break
		}
	}
	// A setting that acts on others (--atomic) sees them all read.
	for _, a := range later {
		if err := a.s.apply(&o, a.v, a.where); err != nil {
			return Overrides{}, err
		}
	}
	return o, nil
}

// applyAtomic makes --atomic the one batch it means: parallelism 0.
func applyAtomic(o *Overrides, v any, where string) error {
	if !v.(bool) {
		return nil
	}
	if o.Parallelism != nil && *o.Parallelism != 0 {
		return fmt.Errorf("%s replaces every replica in one batch; it cannot be combined with parallelism %d", where, *o.Parallelism)
	}
	all := 0
	o.Parallelism = &all
	return nil
}

// Merge layers settings already read, highest first: each setting takes
// the first layer's value that is set.
func Merge(layers ...Overrides) Overrides {
	var out Overrides
	for _, s := range All {
		if s.field == nil {
			continue
		}
		for i := range layers {
			if v, ok := s.Value(&layers[i]); ok {
				s.Set(&out, v)
				break
			}
		}
	}
	return out
}

// Defaults are the settings' defaults, where the table gives one.
func Defaults() Overrides {
	var o Overrides
	for _, s := range All {
		if s.field == nil || s.Default == "" {
			continue
		}
		v, err := s.Parse("default of "+s.Name, s.Default)
		if err != nil {
			panic(err) // the table is wrong; its test says so
		}
		s.Set(&o, v)
	}
	return o
}

// Map is a source over a map of keys to values, such as a container's
// labels or a compose service's x-dswap keys; key picks each setting's key.
func Map(layer string, m map[string]string, key func(*Setting) string) Source {
	return Source{Layer: layer, Key: key, Lookup: func(_ *Setting, k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}}
}

// Env is the DSWAP_* variables, read through lookup (os.LookupEnv). An
// empty variable of a text setting counts as unset, as CI systems define
// a variable empty when the secret behind it is missing.
func Env(lookup func(string) (string, bool)) Source {
	return Source{
		Key: func(s *Setting) string { return s.Env },
		Lookup: func(s *Setting, k string) (string, bool) {
			v, ok := lookup(k)
			if ok && v == "" && (s.Kind == String || s.Kind == Commands) {
				return "", false
			}
			return v, ok
		},
	}
}

// LabelKey and ComposeKey pick a setting's key in its layer.
func LabelKey(s *Setting) string   { return s.Label }
func ComposeKey(s *Setting) string { return s.Compose }

// Keys lists the keys the table declares in a layer, for messages about
// an unknown key.
func Keys(key func(*Setting) string) []string {
	var out []string
	for _, s := range All {
		if k := key(s); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// Unknown says what is wrong with a key the layer does not declare:
// a misspelt setting must not be silently ignored.
func Unknown(layer, key string, keyOf func(*Setting) string) error {
	known := Keys(keyOf)
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("%s %q is not a dswap setting: did you mean %q? (dswap's keys are lowercase)", layer, key, k)
		}
	}
	return fmt.Errorf("%s %q is not a dswap setting; dswap reads %s", layer, key, strings.Join(known, ", "))
}
