package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/settings"
)

// SwapRequest is the body of POST /v1/services/{service}/swap (and of
// POST /v1/swaps, where it names the service): the request `dswap up`
// runs, as it is (see settings.Request). Fields left out take the
// compose service's and the running containers' settings, then dswap's
// defaults, as on the command line; pull and lock_wait left out take the
// sidecar's --pull and --lock-wait.
type SwapRequest = settings.Request

// RollbackRequest is the optional body of POST .../rollback.
type RollbackRequest struct {
	settings.Overrides
}

// rollbackFields are the settings a rollback takes.
var rollbackFields = []string{"drain", "health_timeout", "flip_timeout", "monitor"}

// UnmarshalJSON reads a rollback's settings, refusing any other field.
func (r *RollbackRequest) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	over, err := settings.DecodeFields(fields, func(s *settings.Setting) bool { return slices.Contains(rollbackFields, s.JSON) })
	r.Overrides = over
	return err
}

// maxRequestBody bounds API request bodies.
const maxRequestBody = 1 << 20

// decodeStrict reads one JSON object, refusing unknown fields: a typo in a
// setting must not silently fall back to a default.
func decodeStrict(body io.Reader, into any) error {
	data, err := io.ReadAll(io.LimitReader(body, maxRequestBody+1))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if len(data) > maxRequestBody {
		return fmt.Errorf("the request body is larger than %d bytes", maxRequestBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("the request body is not the expected JSON object: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("the request body has more than one JSON value")
	}
	return nil
}

// pullPolicy returns the request's pull policy, or def when it has none.
func pullPolicy(r SwapRequest, def engine.PullPolicy) (engine.PullPolicy, error) {
	if r.Pull == nil {
		return def, nil
	}
	return engine.ParsePullPolicy(*r.Pull)
}

// validate checks what can be checked before a swap starts; the settings
// were checked as they were decoded.
func validate(r SwapRequest) error {
	if strings.TrimSpace(r.Image) == "" {
		return fmt.Errorf(`"image" is required, e.g. {"image": "myapp:v2"}`)
	}
	_, err := pullPolicy(r, engine.PullMissing)
	return err
}
