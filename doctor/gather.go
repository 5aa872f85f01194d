package doctor

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// Lister lists containers.
type Lister interface {
	List(ctx context.Context, f engine.ListFilter) ([]*engine.Container, error)
}

// Options are what dswap doctor was told, as the other commands' flags.
type Options struct {
	TraefikContainer string
	RoutesDir        string
	APIURL           string
	// NewAPI makes an API client for an address.
	NewAPI func(url string) (API, error)
	// KeeperRunning is as Host's.
	KeeperRunning func(ctx context.Context, routesDir string) (holder string, running bool, err error)
	Now           func() time.Time
	// Services limits the service checks to these services (by dswap.service
	// label, compose service or container name); empty checks every
	// dswap-managed container.
	Services []string
}

// Gather reads the host once.
func Gather(ctx context.Context, docker Lister, o Options) (*Host, error) {
	all, err := docker.List(ctx, engine.ListFilter{})
	if err != nil {
		return nil, err
	}
	h := &Host{GivenRoutesDir: o.RoutesDir, GivenAPI: o.APIURL, Now: o.Now}
	for _, c := range all {
		switch {
		case o.TraefikContainer != "" && (c.Name == o.TraefikContainer || strings.HasPrefix(c.ID, o.TraefikContainer)):
			h.Candidates = []*engine.Container{c}
		case o.TraefikContainer == "" && traefik.LooksLikeTraefik(c):
			h.Candidates = append(h.Candidates, c)
		case isSidecar(c):
			h.Sidecars = append(h.Sidecars, c)
		case managed(c) && (len(o.Services) == 0 || slices.Contains(o.Services, plainServiceName(c))):
			h.Services = append(h.Services, c)
		}
	}
	if len(h.Candidates) == 1 {
		h.Traefik, h.TraefikErr = traefik.Inspect(h.Candidates[0])
	}
	h.RoutesDir = o.RoutesDir
	if h.RoutesDir == "" && h.Traefik != nil && h.TraefikErr == nil {
		h.RoutesDir = h.Traefik.HostDir
	}
	if h.RoutesDir != "" {
		h.RoutesDir, _ = filepath.Abs(h.RoutesDir)
	}
	h.APIURL = o.APIURL
	if h.APIURL == "" && h.Traefik != nil {
		h.APIURL = h.Traefik.APIURL
	}
	if h.APIURL != "" && h.APIURL != "none" && o.NewAPI != nil {
		if api, err := o.NewAPI(h.APIURL); err == nil {
			h.API = api
		}
	}
	if o.KeeperRunning != nil && h.RoutesDir != "" {
		dir := h.RoutesDir
		h.KeeperRunning = func(ctx context.Context) (string, bool, error) { return o.KeeperRunning(ctx, dir) }
	}
	return h, nil
}

// managed is the rule swap uses: dswap.enable=true or a dswap.service
// label.
func managed(c *engine.Container) bool {
	return c.Labels[labels.ServiceLabel] != "" || c.Labels["dswap.enable"] == "true"
}

// isSidecar tells a container running `dswap serve`.
func isSidecar(c *engine.Container) bool {
	for i, a := range c.Args {
		if filepath.Base(a) == "dswap" && slices.Contains(c.Args[i+1:], "serve") {
			return true
		}
	}
	return false
}

// plainServiceName is the service a managed container belongs to.
func plainServiceName(c *engine.Container) string {
	if s := c.Labels[labels.ServiceLabel]; s != "" {
		return s
	}
	if s := c.Labels["com.docker.compose.service"]; s != "" {
		return s
	}
	return c.Name
}

// serviceName is how a finding names a managed container's service.
func serviceName(c *engine.Container) string {
	if s := c.Labels[labels.ServiceLabel]; s != "" {
		return s + " (" + c.Name + ")"
	}
	if s := c.Labels["com.docker.compose.service"]; s != "" {
		return s + " (" + c.Name + ")"
	}
	return c.Name
}
