package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/credentials"
	"github.com/dswap-dev/dswap/engine"
)

// imageOptions are how a command gets images: --pull and, for
// `dswap up`, the registry login and build flags.
type imageOptions struct {
	pull     *engine.PullPolicy
	explicit *credentials.Explicit
	build    *engine.BuildOptions
	terminal bool
}

func readImageOptions(fs *pflag.FlagSet) (imageOptions, error) {
	var o imageOptions
	if pull, _ := layeredString(fs, "pull"); pull != "" {
		p, err := engine.ParsePullPolicy(pull)
		if err != nil {
			return o, usagef("%v", err)
		}
		o.pull = &p
	}
	var err error
	if o.explicit, err = registryAuth(fs, os.LookupEnv); err != nil {
		return o, err
	}
	if o.build, err = buildOptions(fs, os.LookupEnv); err != nil {
		return o, err
	}
	// main hands run os.Stderr, where the text logger writes: a terminal
	// gets a progress summary, a CI log a line per layer event.
	format, _ := layeredString(fs, "output")
	o.terminal = format == "text" && isTerminal(os.Stderr)
	return o, nil
}

// newImages makes the image getter.
func newImages(o imageOptions, eng *engine.Engine, log *slog.Logger) *engine.Images {
	im := &engine.Images{Engine: eng, Policy: engine.PullMissing, Log: log, Build: o.build, Terminal: o.terminal}
	if o.pull != nil {
		im.Policy = *o.pull
	}
	if o.explicit != nil && o.explicit.Source == "--registry-auth" {
		log.Warn("--registry-auth puts the password in the process list, where other users of this host can read it; prefer --registry-auth-file or DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD")
	}
	im.Credentials = &credentials.Store{Explicit: o.explicit}
	return im
}

// registryAuth reads an explicit registry login. Flags win over the
// environment; within a layer only one way may be used, so that dswap
// never has to guess which of two logins was meant. Errors never quote a
// value, which may be a password.
func registryAuth(fs *pflag.FlagSet, lookup func(string) (string, bool)) (*credentials.Explicit, error) {
	flag := func(name string) (string, bool) {
		if f := fs.Lookup(name); f != nil && f.Changed {
			return f.Value.String(), true
		}
		return "", false
	}
	inline, inlineSet := flag("registry-auth")
	file, fileSet := flag("registry-auth-file")
	switch {
	case inlineSet && fileSet:
		return nil, usagef("give either --registry-auth or --registry-auth-file, not both")
	case inlineSet:
		return parseLogin("--registry-auth", inline)
	case fileSet:
		return readLoginFile("--registry-auth-file", file)
	}
	if fs.Lookup("registry-auth") == nil {
		return nil, nil // a command that pulls nothing
	}
	// An empty variable counts as unset: CI systems define a variable as
	// empty when the secret behind it is missing, and the pull then says
	// which credentials it tried.
	lookupSet := lookup
	lookup = func(k string) (string, bool) {
		v, ok := lookupSet(k)
		return v, ok && v != ""
	}

	envInline, envInlineSet := lookup("DSWAP_REGISTRY_AUTH")
	envFile, envFileSet := lookup("DSWAP_REGISTRY_AUTH_FILE")
	user, userSet := lookup("DSWAP_REGISTRY_USER")
	password, passwordSet := lookup("DSWAP_REGISTRY_PASSWORD")
	n := 0
	for _, set := range []bool{envInlineSet, envFileSet, userSet || passwordSet} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, usagef("set only one of DSWAP_REGISTRY_AUTH, DSWAP_REGISTRY_AUTH_FILE, or DSWAP_REGISTRY_USER with DSWAP_REGISTRY_PASSWORD")
	case envInlineSet:
		return parseLogin("DSWAP_REGISTRY_AUTH", envInline)
	case envFileSet:
		return readLoginFile("DSWAP_REGISTRY_AUTH_FILE", envFile)
	case userSet != passwordSet:
		return nil, usagef("DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD go together: set both")
	case userSet:
		return &credentials.Explicit{
			Credential: credentials.Credential{Username: user, Password: password},
			Source:     "DSWAP_REGISTRY_USER and DSWAP_REGISTRY_PASSWORD",
		}, nil
	}
	return nil, nil
}

func parseLogin(source, value string) (*credentials.Explicit, error) {
	c, err := credentials.ParseUserPassword(value)
	if err != nil {
		return nil, usagef("%s: %v", source, err)
	}
	return &credentials.Explicit{Credential: c, Source: source}, nil
}

func readLoginFile(source, path string) (*credentials.Explicit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("%s: %v", source, err)
	}
	c, err := credentials.ParseUserPassword(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, usagef("%s %s: %v", source, path, err)
	}
	return &credentials.Explicit{Credential: c, Source: source + " " + path}, nil
}

// buildOptions reads --build and its companions, which only make sense
// with it. They are flags only: a DSWAP_BUILD left in an environment
// would silently turn every deploy into a build.
func buildOptions(fs *pflag.FlagSet, lookup func(string) (string, bool)) (*engine.BuildOptions, error) {
	if fs.Lookup("build") == nil {
		return nil, nil
	}
	dir, _ := fs.GetString("build")
	files, _ := fs.GetStringArray("file")
	target, _ := fs.GetString("target")
	args, _ := fs.GetStringArray("build-arg")
	if dir == "" {
		// Without --build, -f names compose files.
		for _, name := range []string{"target", "build-arg"} {
			if fs.Changed(name) {
				return nil, usagef("--%s needs --build DIR", name)
			}
		}
		return nil, nil
	}
	if len(files) > 1 {
		return nil, usagef("with --build, -f names the one Dockerfile; got %d", len(files))
	}
	opts := &engine.BuildOptions{Context: dir, Target: target}
	if len(files) == 1 {
		opts.Dockerfile = files[0]
	}
	for _, a := range args {
		key, value, hasValue := strings.Cut(a, "=")
		if key == "" {
			return nil, usagef("--build-arg %q: want KEY=VALUE or KEY", a)
		}
		if opts.Args == nil {
			opts.Args = map[string]*string{}
		}
		if !hasValue {
			// As with `docker build`: KEY alone takes the variable from
			// the environment, and stays unset if it is not there.
			if v, ok := lookup(key); ok {
				value, hasValue = v, true
			}
		}
		if hasValue {
			opts.Args[key] = &value
		} else {
			opts.Args[key] = nil
		}
	}
	return opts, nil
}

// isTerminal reports whether f is a character device such as a terminal.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
