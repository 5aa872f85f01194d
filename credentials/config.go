package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ConfigFileName is the docker CLI's config file in its config directory.
const ConfigFileName = "config.json"

// DefaultConfigDir is where the docker CLI keeps its config: $DOCKER_CONFIG,
// else ~/.docker.
func DefaultConfigDir() (string, error) {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the docker config directory: %w; set DOCKER_CONFIG", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// configFile is the part of the docker CLI's config.json that holds
// registry logins.
type configFile struct {
	Auths       map[string]authEntry `json:"auths"`
	CredsStore  string               `json:"credsStore"`
	CredHelpers map[string]string    `json:"credHelpers"`
}

// authEntry is one entry of "auths". "docker login" writes "auth", the
// base64 of "user:password"; hand-written files may use the other fields.
type authEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// readConfig reads and parses a config file; a missing file is no error
// (found is false), a malformed one is.
func readConfig(path string) (cfg *configFile, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &configFile{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading docker config file %s: %w", path, err)
	}
	cfg, err = parseConfig(data)
	if err != nil {
		return nil, true, fmt.Errorf("docker config file %s: %w", path, err)
	}
	return cfg, true, nil
}

func parseConfig(data []byte) (*configFile, error) {
	cfg := &configFile{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return cfg, nil // the docker CLI treats an empty file as empty config
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		// json's messages quote at most a type or an offset, never values.
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return cfg, nil
}

// credential decodes an auths entry.
func (e authEntry) credential() (Credential, error) {
	c := Credential{
		Username:      e.Username,
		Password:      e.Password,
		IdentityToken: e.IdentityToken,
		RegistryToken: e.RegistryToken,
	}
	if e.Auth == "" {
		return c, nil
	}
	raw, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		return Credential{}, errors.New(`its "auth" field is not base64 of USER:PASSWORD`)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credential{}, errors.New(`its "auth" field does not decode to USER:PASSWORD`)
	}
	c.Username, c.Password = user, strings.Trim(password, "\x00")
	return c, nil
}

// matchKey returns the key of m that names reg: the exact key first, then
// any key that names the same host (old CLIs wrote "https://host/v1/").
// Candidates are tried in sorted order so the choice is stable.
func matchKey[V any](m map[string]V, reg Registry) (string, bool) {
	if _, ok := m[reg.Key]; ok {
		return reg.Key, true
	}
	want := hostname(reg.Key)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if hostname(k) == want {
			return k, true
		}
	}
	return "", false
}

// helperFor returns the credential helper the config names for reg and
// which setting named it: credHelpers for this registry wins over the
// general credsStore, as in the docker CLI.
func (c *configFile) helperFor(reg Registry) (name, setting string) {
	if k, ok := matchKey(c.CredHelpers, reg); ok && c.CredHelpers[k] != "" {
		return c.CredHelpers[k], "credHelpers"
	}
	if c.CredsStore != "" {
		return c.CredsStore, "credsStore"
	}
	return "", ""
}

// auth returns the auths entry for reg.
func (c *configFile) auth(reg Registry) (Credential, bool, error) {
	k, ok := matchKey(c.Auths, reg)
	if !ok {
		return Credential{}, false, nil
	}
	cred, err := c.Auths[k].credential()
	if err != nil {
		return Credential{}, true, fmt.Errorf("auths entry %q: %w", k, err)
	}
	return cred, !cred.IsZero(), nil
}
