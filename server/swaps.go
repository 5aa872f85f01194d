package server

import (
	"errors"
	"net/http"
	"strconv"
)

// accepted is the answer to a swap started in the background.
type accepted struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Image   string `json:"image,omitempty"`
	// Events and Status are where to follow the swap.
	Events string `json:"events"`
	Status string `json:"status"`
}

func acceptedOf(r *run) accepted {
	return accepted{ID: r.ID, Service: r.Service, Image: r.Image, Events: "/v1/swaps/" + r.ID + "/events", Status: "/v1/swaps/" + r.ID}
}

// postSwap starts a swap: 202 with its id, or with ?wait=true the final
// outcome once it has ended, with a status that says how it ended.
func (s *Server) postSwap(w http.ResponseWriter, req *http.Request) {
	var body SwapRequest
	if err := decodeStrict(req.Body, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if svc := req.PathValue("service"); svc != "" {
		if body.Service != "" && body.Service != svc {
			writeError(w, http.StatusBadRequest, "the body names service "+strconv.Quote(body.Service)+" but the path names "+strconv.Quote(svc))
			return
		}
		body.Service = svc
	}
	if err := validate(body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pull, _ := pullPolicy(body, s.opts.DefaultPull)
	force := body.Force != nil && *body.Force
	s.begin(w, req, runSpec{kind: "swap", service: body.Service, image: body.Image, pull: pull, overrides: body.Overrides, force: force, lockWait: body.LockWait, trigger: "api"})
}

// postRollback starts a rollback, answered like a swap.
func (s *Server) postRollback(w http.ResponseWriter, req *http.Request) {
	var body RollbackRequest
	if err := decodeStrict(req.Body, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.begin(w, req, runSpec{kind: "rollback", service: req.PathValue("service"), overrides: body.Overrides, trigger: "api"})
}

func (s *Server) begin(w http.ResponseWriter, req *http.Request, spec runSpec) {
	wait, err := boolQuery(req, "wait")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r, err := s.start(spec)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, errTooManyRunning) {
			status = http.StatusServiceUnavailable
		}
		writeError(w, status, err.Error())
		return
	}
	if !wait {
		w.Header().Set("Location", "/v1/swaps/"+r.ID)
		writeJSON(w, http.StatusAccepted, acceptedOf(r))
		return
	}
	// The swap goes on if this client goes away; only the sidecar
	// stopping (or POST .../cancel) interrupts it.
	out, err := s.Outcome(req.Context(), r.ID)
	if err != nil {
		return // the client left; nobody reads an answer
	}
	writeJSON(w, statusOfExit(out.ExitCode), out)
}

func boolQuery(req *http.Request, name string) (bool, error) {
	v := req.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("?" + name + "=" + v + " is not true or false")
	}
	return b, nil
}

func (s *Server) listSwaps(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.runs.list())
}

func (s *Server) getSwap(w http.ResponseWriter, req *http.Request) {
	r, ok := s.runs.get(req.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no swap "+strconv.Quote(req.PathValue("id"))+" in this sidecar (it keeps the last "+strconv.Itoa(keepFinished)+")")
		return
	}
	writeJSON(w, http.StatusOK, r.view())
}

// cancelSwap interrupts a swap as Ctrl-C interrupts a local one: before
// its flip it rolls back, after it the drain finishes.
func (s *Server) cancelSwap(w http.ResponseWriter, req *http.Request) {
	r, ok := s.runs.get(req.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no swap "+strconv.Quote(req.PathValue("id")))
		return
	}
	r.cancel()
	v := r.view()
	writeJSON(w, http.StatusAccepted, map[string]string{"id": r.ID, "state": v.State, "note": "cancelled: before its flip the swap rolls back; after it the drain finishes"})
}
