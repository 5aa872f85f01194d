package main

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/settings"
)

// Options come from, highest first: a flag the user set, then its DSWAP_*
// variable. The compose file, the service's dswap.* labels and the
// defaults are layered below them. Every value is read by the parser of
// its kind in package settings; a malformed value is an error naming the
// flag or variable, never a default.

// addFlags registers the flags of the settings group takes, as the
// settings table declares them.
func addFlags(fs *pflag.FlagSet, group settings.Group) {
	for _, s := range settings.All {
		if s.Group == group {
			addFlag(fs, s)
		}
	}
}

func addFlag(fs *pflag.FlagSet, s *settings.Setting) {
	help := s.Help
	switch {
	case s.DefaultDoc != "":
		help += " (default: " + s.DefaultDoc + ")"
	case s.Default != "" && s.Default != "false" && s.Default != "0" && s.Default != "0s":
		help += " (default " + s.Default + ")"
	}
	if s.Kind == settings.List {
		fs.StringArrayP(s.Name, s.Short, nil, help)
		return
	}
	f := fs.VarPF(&settingValue{setting: s}, s.Name, s.Short, help)
	if s.Kind == settings.Bool {
		f.NoOptDefVal = "true"
	}
}

// settingValue is a flag of the settings table. It keeps the text given,
// checked by the setting's own parser, so that a flag and its variable
// are read by one function.
type settingValue struct {
	setting *settings.Setting
	text    string
}

func (v *settingValue) String() string { return v.text }

func (v *settingValue) Set(text string) error {
	if v.setting.Kind == settings.Commands && v.text != "" {
		// A repeated flag adds a command, one a line as the parser reads
		// them; a command itself cannot span lines.
		if strings.Contains(text, "\n") {
			return errors.New("a command spans several lines; give each as its own flag")
		}
		text = v.text + "\n" + text
	}
	if _, err := v.setting.Parse("--"+v.setting.Name, text); err != nil {
		// pflag names the flag and the value itself.
		var bad *settings.ValueError
		if errors.As(err, &bad) {
			return errors.New(bad.Reason)
		}
		return err
	}
	v.text = text
	return nil
}

func (v *settingValue) Type() string {
	if v.setting.Kind == settings.Enum {
		return "string"
	}
	return v.setting.Kind.String()
}

// readSettings layers the settings this command takes: its flags, then
// their DSWAP_* variables.
func readSettings(fs *pflag.FlagSet) (settings.Overrides, error) {
	over, err := settings.Read(flagSource(fs), envSource(fs))
	return over, badInput(err)
}

// flagSource reads the flags the user set.
func flagSource(fs *pflag.FlagSet) settings.Source {
	return settings.Source{
		Key: func(s *settings.Setting) string {
			if fs.Lookup(s.Name) == nil {
				return ""
			}
			return "--" + s.Name
		},
		Lookup: func(s *settings.Setting, _ string) (string, bool) {
			f := fs.Lookup(s.Name)
			return f.Value.String(), f.Changed && !(s.Kind == settings.String && f.Value.String() == "")
		},
	}
}

// envSource reads the variables of the flags this command has: a
// variable of a setting the command does not take is not its business.
func envSource(fs *pflag.FlagSet) settings.Source {
	env := settings.Env(os.LookupEnv)
	key := env.Key
	env.Key = func(s *settings.Setting) string {
		if fs.Lookup(s.Name) == nil {
			return ""
		}
		return key(s)
	}
	return env
}

func envName(flag string) string {
	return "DSWAP_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
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
		if sv, ok := f.Value.(*settingValue); ok {
			return sv.setting.Default, false
		}
		return f.DefValue, false
	}
	return "", false
}

// layered reads one flag or its variable with the parser of kind.
func layered[T any](fs *pflag.FlagSet, name string, kind settings.Kind) (*T, error) {
	v, set := layeredString(fs, name)
	if !set {
		return nil, nil
	}
	s := &settings.Setting{Name: name, Kind: kind}
	parsed, err := s.Parse(source(fs, name), v)
	if err != nil {
		return nil, badInput(err)
	}
	t := parsed.(T)
	return &t, nil
}

func layeredDuration(fs *pflag.FlagSet, name string) (*time.Duration, error) {
	return layered[time.Duration](fs, name, settings.Duration)
}

func layeredBool(fs *pflag.FlagSet, name string) (*bool, error) {
	return layered[bool](fs, name, settings.Bool)
}

// source names where a value came from, for error messages.
func source(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil && f.Changed {
		return "--" + name
	}
	return envName(name)
}

// given is a value of a flag or its variable: its text, whether a user
// layer set it, and where it came from, for error messages.
type given struct {
	text   string
	set    bool
	source string
}

func givenValue(fs *pflag.FlagSet, name string) given {
	text, set := layeredString(fs, name)
	return given{text: text, set: set, source: source(fs, name)}
}
