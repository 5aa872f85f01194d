package swap

import (
	"context"
	"fmt"
	"strings"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
)

// definition is what the service's definition (a compose file) says the new
// containers must have, over what they copy from the old ones. A nil
// definition changes nothing.
type definition struct {
	// labels replace the labels set on the old container, except
	// compose's own; nil keeps them.
	labels map[string]string
	// healthcheck replaces the copied HEALTHCHECK; nil keeps it.
	healthcheck *engine.Healthcheck
	// recorded are labels that record the definition (compose's config
	// hash), set last.
	recorded map[string]string
}

// newDefinition builds the definition of a request, asking for the labels
// that record it once the image is known.
func newDefinition(ctx context.Context, req Request, like *engine.Container, img *engine.Image) (*definition, error) {
	if req.Labels == nil && req.Healthcheck == nil && req.DefinitionLabels == nil {
		return nil, nil
	}
	d := &definition{labels: req.Labels, healthcheck: req.Healthcheck}
	if req.DefinitionLabels != nil && like != nil {
		recorded, err := req.DefinitionLabels(ctx, like, img)
		if err != nil {
			return nil, fmt.Errorf("working out the compose labels of the new container(s): %w", err)
		}
		d.recorded = recorded
	}
	return d, nil
}

// apply sets the definition on a new container's spec.
func (d *definition) apply(spec *engine.Spec) {
	if d == nil {
		return
	}
	if d.labels != nil {
		out := make(map[string]string, len(d.labels)+len(spec.Labels))
		for k, v := range spec.Labels {
			// The container's place in its compose project is not the
			// definition's to change.
			if strings.HasPrefix(k, composeLabelPrefix) {
				out[k] = v
			}
		}
		for k, v := range d.labels {
			out[k] = v
		}
		spec.Labels = out
	}
	for k, v := range d.recorded {
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[k] = v
	}
	if d.healthcheck != nil {
		spec.SetHealthcheck(*d.healthcheck)
	}
}

// composeLabelPrefix starts every label compose sets itself.
const composeLabelPrefix = "com.docker.compose."

// setComposeImageLabel keeps compose's record of the image a container was
// created from true: Compose v2 compares it with the image its file names
// and recreates a container whose value differs.
func setComposeImageLabel(lbls map[string]string, img *engine.Image) {
	if _, ok := lbls[compose.ImageLabel]; ok {
		lbls[compose.ImageLabel] = img.ID
	}
}
