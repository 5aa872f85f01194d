package server

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/dswap-dev/dswap/settings"
)

// A canary paused by `dswap up IMAGE --canary 10% --pause` ends with
// POST /v1/services/{service}/promote (the steps after its weight, then
// the full flip and the drain of the old version) or .../abort (all the
// traffic back on the old version, the canary removed). Both run as a
// swap does in the sidecar: the same token, the same bound on swaps at
// once, the service's lock, the same answer (202 with the swap's id, or
// with ?wait=true its outcome), event stream and notifications; their
// kind is "promote" or "abort".

// Kinds of run besides swap and rollback.
const (
	kindPromote = "promote"
	kindAbort   = "abort"
)

// CanaryEndRequest is the optional body of POST .../promote and
// .../abort: the settings that `dswap promote` and `dswap abort` take as
// flags, by their API fields. A promote takes every swap setting (among
// them canary, step, max_error_rate, max_p99, min_requests, sticky and
// monitor) and lock_wait; an abort only drain, flip_timeout and
// lock_wait, since it runs no step and starts nothing.
type CanaryEndRequest struct {
	settings.Overrides
	// abort restricts the fields to an abort's.
	abort bool
}

// abortFields are the settings an abort takes.
var abortFields = []string{"drain", "flip_timeout", "lock_wait"}

// allowed says whether the request may carry setting s.
func (r *CanaryEndRequest) allowed(s *settings.Setting) bool {
	if r.abort {
		return slices.Contains(abortFields, s.JSON)
	}
	return s.Group == settings.GroupSwap || s.JSON == "lock_wait"
}

// UnmarshalJSON reads the settings, refusing any other field.
func (r *CanaryEndRequest) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	over, err := settings.DecodeFields(fields, r.allowed)
	r.Overrides = over
	return err
}

// MarshalJSON writes the settings that are set, as a swap request writes
// them (durations as "30s").
func (r CanaryEndRequest) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(settings.Request{Overrides: r.Overrides})
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	delete(fields, "image")
	return json.Marshal(fields)
}

func (s *Server) postPromote(w http.ResponseWriter, req *http.Request) {
	s.postCanaryEnd(w, req, kindPromote)
}

func (s *Server) postAbort(w http.ResponseWriter, req *http.Request) {
	s.postCanaryEnd(w, req, kindAbort)
}

// postCanaryEnd starts a promote or an abort, answered like a swap.
func (s *Server) postCanaryEnd(w http.ResponseWriter, req *http.Request, kind string) {
	body := CanaryEndRequest{abort: kind == kindAbort}
	if err := decodeStrict(req.Body, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.begin(w, req, runSpec{kind: kind, service: req.PathValue("service"), overrides: body.Overrides, lockWait: body.LockWait, trigger: "api"})
}
