// Package doctor checks a host as dswap would use it (Traefik, its file
// provider and API, the dswap-managed services and the routes directory)
// and says, per check, that it is fine or what is wrong and the fix.
//
// Gathering reads the Engine, the filesystem and Traefik's API once into a
// Host; each check is a small function over that Host, so the decisions
// are table-tested without a daemon.
package doctor

import (
	"context"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/traefik"
)

// Status is a check's verdict.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // works, with a cost the user should know about
	Fail Status = "fail" // a swap would fail or drop requests
	Skip Status = "skip" // could not be checked because an earlier check failed
)

// Finding is one check's result. Subject names what it is about (a
// service, a container), when the check looks at several.
type Finding struct {
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// API is the part of Traefik's API the checks read.
type API interface {
	Version(ctx context.Context) (string, error)
	Runtime(ctx context.Context) (*traefik.Runtime, error)
}

// Host is what the checks look at.
type Host struct {
	// Traefik is the Traefik container, nil when none was found
	// (TraefikErr says why, or several were found).
	Traefik    *traefik.Instance
	TraefikErr error
	// Candidates are the containers that look like Traefik.
	Candidates []*engine.Container
	// GivenRoutesDir and GivenAPI are --routes-dir and --traefik-api.
	GivenRoutesDir, GivenAPI string
	// RoutesDir is the routes directory on this host dswap would write
	// ("" when unknown), and APIURL the API address it would use.
	RoutesDir string
	APIURL    string
	// API is Traefik's API at APIURL, nil without one.
	API API
	// Services are the running dswap-managed containers.
	Services []*engine.Container
	// Sidecars are the running containers of `dswap serve`.
	Sidecars []*engine.Container
	// KeeperRunning says whether a route keeper holds the routes
	// directory's keeper lock (and who); nil when it cannot be told.
	KeeperRunning func(ctx context.Context) (holder string, running bool, err error)
	Now           func() time.Time
}

// Check is one check.
type Check struct {
	Name string
	Run  func(ctx context.Context, h *Host) []Finding
}

// Checks are all checks, in the order a user fixes things: Traefik first,
// then how dswap reaches it, then the services.
var Checks = []Check{
	{"traefik", checkTraefik},
	{"file-provider", checkFileProvider},
	{"routes-dir", checkRoutesDir},
	{"api", checkAPI},
	{"throttle", checkThrottle},
	{"metrics", checkMetrics},
	{"docker-provider", checkDockerProvider},
	{"healthcheck", checkHealthcheck},
	{"network", checkNetwork},
	{"host-ports", checkHostPorts},
	{"keeper", checkKeeper},
	{"sidecar-token", checkSidecarToken},
}

// Run runs every check on h.
func Run(ctx context.Context, h *Host) []Finding {
	var out []Finding
	for _, c := range Checks {
		for _, f := range c.Run(ctx, h) {
			f.Check = c.Name
			out = append(out, f)
		}
	}
	return out
}

// Failed says whether any finding failed.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Status == Fail {
			return true
		}
	}
	return false
}
