package traefik

import (
	"context"
	"fmt"
)

// versionInfo is what GET /api/version answers, in v2.11 as in v3:
// {"Version":"v3.6.10","Codename":"...","startDate":"..."}. A Traefik built
// from source without -X .../pkg/version.Version says "dev".
type versionInfo struct {
	Version  string `json:"Version"`
	Codename string `json:"Codename"`
}

// Version returns the release Traefik reports, as written (e.g. "v2.11.53"),
// so that dswap can check labels against the fields that release knows.
func (a *API) Version(ctx context.Context) (string, error) {
	var v versionInfo
	if err := a.get(ctx, "/api/version", &v); err != nil {
		return "", fmt.Errorf("reading Traefik's version: %w", err)
	}
	if v.Version == "" {
		return "", fmt.Errorf("Traefik API %s/api/version answered no version", a.base)
	}
	return v.Version, nil
}
