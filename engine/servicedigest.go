package engine

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
)

// ResolveImage returns ref pinned to the digest its registry gives it now,
// written as `docker stack deploy` and `docker service update` write it
// ("name:tag@sha256:…"), so that a later stack deploy of a file naming
// ref finds the same image in the service's spec and changes nothing. A
// reference that already has a digest is returned as it is. When the
// manager cannot reach the registry (or there is none), the error says so
// and ref is what the CLI would use too.
func (e *Engine) ResolveImage(ctx context.Context, ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref, fmt.Errorf("image reference %s: %w", ref, err)
	}
	if _, pinned := named.(reference.Canonical); pinned {
		return ref, nil
	}
	info, err := e.api.DistributionInspect(ctx, ref, "")
	if err != nil {
		return ref, fmt.Errorf("asking the registry for the digest of %s: %w", ref, err)
	}
	withDigest, err := reference.WithDigest(named, info.Descriptor.Digest)
	if err != nil {
		return ref, err
	}
	return reference.FamiliarString(withDigest), nil
}
