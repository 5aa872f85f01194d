package credentials

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Store finds the credential for an image's registry.
type Store struct {
	// Explicit, when set, is used for the registry of every image looked
	// up, and the config file is not read.
	Explicit *Explicit
	// ConfigDir is the docker config directory; "" means DefaultConfigDir.
	ConfigDir string
	// HelperTimeout bounds each credential helper call; 0 means 30 s.
	HelperTimeout time.Duration
}

// Found is the outcome of a lookup.
type Found struct {
	Registry   Registry
	Credential Credential // zero when none was found
	// Source says where the credential came from, or where dswap looked
	// and found none (starting with "none"), for messages.
	Source string
}

// Find returns the credential for the registry of ref, looking where the
// docker CLI looks: a credHelpers entry for the registry, else credsStore,
// else auths in config.json. Having none is not an error; a malformed
// config file or a failing helper is.
func (s *Store) Find(ctx context.Context, ref string) (Found, error) {
	reg, err := RegistryOf(ref)
	if err != nil {
		return Found{}, err
	}
	f := Found{Registry: reg}
	if s.Explicit != nil {
		f.Credential, f.Source = s.Explicit.Credential, s.Explicit.Source
		return f, nil
	}
	dir := s.ConfigDir
	if dir == "" {
		if dir, err = DefaultConfigDir(); err != nil {
			return f, err
		}
	}
	path := filepath.Join(dir, ConfigFileName)
	cfg, exists, err := readConfig(path)
	if err != nil {
		return f, err
	}
	if !exists {
		f.Source = "none (no docker config file at " + path + ")"
		return f, nil
	}

	if name, setting := cfg.helperFor(reg); name != "" {
		source := fmt.Sprintf("credential helper %s%s (%s in %s)", HelperPrefix, name, setting, path)
		cred, err := runHelper(ctx, name, reg.Key, s.HelperTimeout)
		switch {
		case errors.Is(err, errHelperNoEntry):
			f.Source = fmt.Sprintf("none (%s has no entry for %s)", source, reg.Key)
		case err != nil:
			return f, fmt.Errorf("reading the login for %s from %s: %w", reg.Host, source, err)
		default:
			f.Credential, f.Source = cred, source
		}
		return f, nil
	}

	cred, ok, err := cfg.auth(reg)
	switch {
	case err != nil:
		return f, fmt.Errorf("docker config file %s: %w", path, err)
	case !ok:
		f.Source = fmt.Sprintf("none (config file %s has no auths entry for %s)", path, reg.Key)
	default:
		f.Credential, f.Source = cred, "config file "+path+" auths"
	}
	return f, nil
}
