package main

import (
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// Options come from, highest first: a flag the user set, then its DSWAP_*
// variable. The service's dswap.* labels and the defaults are layered
// below them by the swap. A malformed value is an error, never a default.

func envName(flag string) string {
	b := []byte("DSWAP_")
	for _, r := range []byte(flag) {
		switch {
		case r == '-':
			b = append(b, '_')
		case r >= 'a' && r <= 'z':
			b = append(b, r-'a'+'A')
		default:
			b = append(b, r)
		}
	}
	return string(b)
}

// layeredString returns the flag's value if set, else its variable's, else
// the flag's default; set reports whether a user layer set it.
func layeredString(fs *pflag.FlagSet, name string) (value string, set bool) {
	if f := fs.Lookup(name); f != nil && f.Changed {
		return f.Value.String(), true
	}
	if v, ok := os.LookupEnv(envName(name)); ok {
		return v, true
	}
	if f := fs.Lookup(name); f != nil {
		return f.DefValue, false
	}
	return "", false
}

func layeredDuration(fs *pflag.FlagSet, name string) (*time.Duration, error) {
	v, set := layeredString(fs, name)
	if !set {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, usagef("%s %q is not a duration such as 30s or 1m30s", source(fs, name), v)
	}
	return &d, nil
}

func layeredBool(fs *pflag.FlagSet, name string) (*bool, error) {
	v, set := layeredString(fs, name)
	if !set {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, usagef("%s %q is not true or false", source(fs, name), v)
	}
	return &b, nil
}

func layeredOptString(fs *pflag.FlagSet, name string) *string {
	v, set := layeredString(fs, name)
	if !set {
		return nil
	}
	return &v
}

// source names where a value came from, for error messages.
func source(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil && f.Changed {
		return "--" + name
	}
	return envName(name)
}

func layeredInt(fs *pflag.FlagSet, name string) (*int, error) {
	v, set := layeredString(fs, name)
	if !set {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, usagef("%s %q is not a whole number", source(fs, name), v)
	}
	return &n, nil
}

func layeredFloat(fs *pflag.FlagSet, name string) (*float64, error) {
	v, set := layeredString(fs, name)
	if !set {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, usagef("%s %q is not a number", source(fs, name), v)
	}
	return &f, nil
}
