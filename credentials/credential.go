package credentials

import (
	"fmt"
	"log/slog"
	"strings"
)

// Credential is a registry login. Its String, GoString and LogValue methods
// never show the secrets, so a Credential printed or logged by mistake
// leaks nothing.
type Credential struct {
	Username string
	Password string
	// IdentityToken is a refresh token some registries hand out at login
	// (stored in auths as "identitytoken", or by a helper as username
	// "<token>"); the Engine trades it for an access token.
	IdentityToken string
	// RegistryToken is a bearer token sent to the registry as it is.
	RegistryToken string
}

// IsZero reports whether c holds no login at all.
func (c Credential) IsZero() bool { return c == Credential{} }

func (c Credential) String() string {
	if c.IsZero() {
		return "no credentials"
	}
	return "credentials (redacted)"
}

// GoString keeps %#v from printing the fields.
func (c Credential) GoString() string { return c.String() }

// LogValue keeps slog from printing the fields.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ParseUserPassword reads "USER:PASSWORD" (the password may contain ':').
// The error never quotes the value, which may be a password.
func ParseUserPassword(s string) (Credential, error) {
	s = strings.TrimRight(s, "\r\n")
	user, password, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return Credential{}, fmt.Errorf("want USER:PASSWORD, and the value has no ':'")
	case user == "":
		return Credential{}, fmt.Errorf("want USER:PASSWORD, and the user is empty")
	case password == "":
		return Credential{}, fmt.Errorf("want USER:PASSWORD, and the password is empty")
	}
	return Credential{Username: user, Password: password}, nil
}

// Explicit is a credential the user gave dswap directly (flag, file or
// environment) for the registry of the image being pulled. It wins over
// the docker config file.
type Explicit struct {
	Credential Credential
	// Source names where it came from, e.g. "--registry-auth-file
	// /run/secrets/registry" or "DSWAP_REGISTRY_USER and
	// DSWAP_REGISTRY_PASSWORD".
	Source string
}
