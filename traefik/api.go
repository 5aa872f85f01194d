// Package traefik is dswap's side of Traefik: the file-provider directory it
// writes routes into, Traefik's API it confirms them through, and finding a
// running Traefik on the Engine.
package traefik

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API reads Traefik's runtime configuration (api.insecure or a router to
// api@internal). The runtime configuration is what the entrypoints switch
// to, so when it shows a route, new requests use that route.
type API struct {
	base *url.URL
	http *http.Client
}

// NewAPI returns a client for the API at base, e.g. http://127.0.0.1:8080.
func NewAPI(base string) (*API, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("Traefik API address %q is not an http(s) URL such as http://127.0.0.1:8080", base)
	}
	return &API{
		base: u,
		// The API is local and small; a stuck call must not eat the whole
		// confirmation window.
		http: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConns: 2, IdleConnTimeout: 30 * time.Second}},
	}, nil
}

// String returns the API's base address.
func (a *API) String() string { return a.base.String() }

// Runtime is the part of Traefik's runtime configuration dswap checks.
type Runtime struct {
	Routers  map[string]RouterStatus  `json:"routers"`
	Services map[string]ServiceStatus `json:"services"`
	// Middlewares are listed whether or not a router uses them; dswap
	// reads its route files' generation markers here.
	Middlewares map[string]MiddlewareStatus `json:"middlewares"`
}

// RouterStatus is one router as Traefik runs it.
type RouterStatus struct {
	Rule        string   `json:"rule"`
	Service     string   `json:"service"`
	EntryPoints []string `json:"entryPoints"`
	Status      string   `json:"status"` // enabled, warning, disabled
	Errors      []string `json:"error"`
	Provider    string   `json:"provider"`
}

// ServiceStatus is one service as Traefik runs it.
type ServiceStatus struct {
	LoadBalancer *struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	} `json:"loadBalancer"`
	Status       string            `json:"status"`
	Errors       []string          `json:"error"`
	ServerStatus map[string]string `json:"serverStatus"`
	UsedBy       []string          `json:"usedBy"`
}

// ServerURLs returns the service's load-balancer servers in order.
func (s ServiceStatus) ServerURLs() []string {
	if s.LoadBalancer == nil {
		return nil
	}
	out := make([]string, 0, len(s.LoadBalancer.Servers))
	for _, srv := range s.LoadBalancer.Servers {
		out = append(out, srv.URL)
	}
	return out
}

// Runtime fetches the whole HTTP runtime configuration in one call, so that
// routers and services are read from the same configuration generation.
func (a *API) Runtime(ctx context.Context) (*Runtime, error) {
	var rt Runtime
	if err := a.get(ctx, "/api/rawdata", &rt); err != nil {
		return nil, err
	}
	return &rt, nil
}

// Ping checks that the API answers.
func (a *API) Ping(ctx context.Context) error {
	var overview json.RawMessage
	return a.get(ctx, "/api/overview", &overview)
}

func (a *API) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base.String()+path, nil)
	if err != nil {
		return err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("Traefik API at %s did not answer: %w; check --traefik-api (DSWAP_TRAEFIK_API) and that Traefik runs with api.insecure=true or an API router", a.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("reading Traefik API %s%s: %w", a.base, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("Traefik API %s%s answered %s: %s", a.base, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("Traefik API %s%s returned something that is not Traefik's JSON: %w", a.base, path, err)
	}
	return nil
}
