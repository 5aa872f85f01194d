package engine

import (
	"encoding/json"

	"github.com/docker/docker/api/types/swarm"
)

// deepCopySpec copies a service spec through JSON, the form in which it
// travels to the Engine anyway: what survives this copy is exactly what a
// ServiceUpdate would send.
func deepCopySpec(spec swarm.ServiceSpec) swarm.ServiceSpec {
	b, err := marshalSpec(spec)
	if err != nil {
		// A spec the Engine returned always marshals; keep the shallow
		// copy rather than lose it.
		return spec
	}
	var out swarm.ServiceSpec
	if err := json.Unmarshal(b, &out); err != nil {
		return spec
	}
	return out
}

func marshalSpec(spec swarm.ServiceSpec) ([]byte, error) {
	return json.Marshal(spec)
}
