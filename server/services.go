package server

import (
	"net/http"

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
	out := ServiceStatus{Service: st.Service, RouteFile: st.RouteFile, Routed: st.Routed, Containers: []ContainerStatus{}}
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

func (s *Server) listServices(w http.ResponseWriter, req *http.Request) {
	sts, err := s.opts.Backend.Status(req.Context(), "")
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	out := []ServiceStatus{}
	for _, st := range sts {
		out = append(out, StatusOf(st))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getService(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("service")
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
