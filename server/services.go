package server

import (
	"net/http"
	"time"

	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/swap"
)

// ServiceStatus is one managed service, as GET /v1/services shows it; the
// same shape as `dswap status --output json`.
type ServiceStatus struct {
	Service     string            `json:"service"`
	RouteFile   string            `json:"route_file"`
	Routed      []string          `json:"routed"`
	Containers  []ContainerStatus `json:"containers"`
	Interrupted string            `json:"interrupted,omitempty"`
	// Canary is set while the service's route splits the traffic.
	Canary *CanaryView `json:"canary,omitempty"`
}

// CanaryView is a service's canary: the weights Traefik is given and,
// when Traefik's metrics were read, what each version answered over the
// last window_seconds.
type CanaryView struct {
	Weight       int        `json:"weight"`        // the new version's share, percent
	StableWeight int        `json:"stable_weight"` // the old version's
	Paused       bool       `json:"paused"`
	Sticky       bool       `json:"sticky,omitempty"`
	Window       float64    `json:"window_seconds,omitempty"`
	Stable       *ChildView `json:"stable,omitempty"`
	Canary       *ChildView `json:"canary,omitempty"`
	MetricsError string     `json:"metrics_error,omitempty"`
}

// ChildView is one version's figures over the window.
type ChildView struct {
	Services          []string `json:"services"`
	Requests          float64  `json:"requests"`
	RequestsPerSecond float64  `json:"requests_per_second"`
	Errors            float64  `json:"errors"`
	ErrorRate         float64  `json:"error_rate"`
	// P99 is in seconds; absent when the window had no request.
	P99 *float64 `json:"p99_seconds,omitempty"`
}

func canaryView(cs *swap.CanaryStatus) *CanaryView {
	if cs == nil {
		return nil
	}
	v := &CanaryView{Weight: cs.Weight, StableWeight: 100 - cs.Weight, Paused: cs.Paused, Sticky: cs.Sticky, MetricsError: cs.MetricsError}
	if cs.Window > 0 {
		v.Window = cs.Window.Seconds()
		v.Stable, v.Canary = childView(cs.Stable, cs.Window), childView(cs.Canary, cs.Window)
	}
	return v
}

func childView(f swap.ChildFigures, window time.Duration) *ChildView {
	v := &ChildView{Services: f.Services, Requests: f.Requests, RequestsPerSecond: f.RatePerSecond(window), Errors: f.Errors, ErrorRate: f.ErrorRate()}
	if v.Services == nil {
		v.Services = []string{}
	}
	if f.HasP99 {
		p := f.P99.Seconds()
		v.P99 = &p
	}
	return v
}

// ContainerStatus is one container of a service.
type ContainerStatus struct {
	Name    string `json:"name"`
	Image   string `json:"image"`
	ImageID string `json:"image_id"`
	State   string `json:"state"`
	Health  string `json:"health,omitempty"`
	Routed  bool   `json:"routed"`
}

// StatusOf converts what swap reports.
func StatusOf(st swap.Status) ServiceStatus {
	out := ServiceStatus{Service: st.Service, RouteFile: st.RouteFile, Routed: st.Routed, Containers: []ContainerStatus{}, Canary: canaryView(st.Canary)}
	if out.Routed == nil {
		out.Routed = []string{}
	}
	routed := map[string]bool{}
	for _, c := range st.Damage.Routed {
		routed[c.ID] = true
	}
	for _, c := range st.Containers {
		out.Containers = append(out.Containers, ContainerStatus{Name: c.Name, Image: c.Image, ImageID: shortID(c.ImageID), State: c.State.Status, Health: c.State.Health, Routed: routed[c.ID]})
	}
	switch {
	case st.Damage.Interrupted():
		out.Interrupted = st.Damage.String() + "; the next dswap up or sync of this service finishes it"
	case st.Damage.NoRoute:
		out.Interrupted = "not routed by dswap yet; run dswap sync " + st.Service
	}
	return out
}

func shortID(id string) string {
	const prefix = "sha256:"
	if len(id) > len(prefix) && id[:len(prefix)] == prefix {
		id = id[len(prefix):]
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// listServices answers the managed container services, then the Swarm
// services dswap routes, each in its own shape: a Swarm service's object
// has "swarm": true and its "tasks" where a container service has its
// "containers" (the list `dswap status --output json` prints).
func (s *Server) listServices(w http.ResponseWriter, req *http.Request) {
	sts, err := s.opts.Backend.Status(req.Context(), "")
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	swarmSts, err := s.opts.Backend.SwarmStatus(req.Context(), "")
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	out := make([]any, 0, len(sts)+len(swarmSts))
	for _, st := range sts {
		out = append(out, StatusOf(st))
	}
	for _, st := range swarmSts {
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, out)
}

// getService answers one service: a Swarm service of that name first, as
// dswap status does, else the containers of that service.
func (s *Server) getService(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("service")
	swarmSts, err := s.opts.Backend.SwarmStatus(req.Context(), name)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	if len(swarmSts) > 0 {
		writeJSON(w, http.StatusOK, swarmSts[0])
		return
	}
	sts, err := s.opts.Backend.Status(req.Context(), name)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	if len(sts) == 0 || len(sts[0].Containers) == 0 {
		writeError(w, http.StatusNotFound, "no service "+name)
		return
	}
	writeJSON(w, http.StatusOK, StatusOf(sts[0]))
}

func (s *Server) getHistory(w http.ResponseWriter, req *http.Request) {
	entries, err := s.opts.Backend.History(req.Context(), req.PathValue("service"))
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	if entries == nil {
		entries = []history.Entry{}
	}
	writeJSON(w, http.StatusOK, entries)
}
