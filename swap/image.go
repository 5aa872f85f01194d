package swap

import (
	"errors"
	"fmt"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// imageUnavailable turns an image that could not be pulled or built for a
// reason the user can act on (unknown image, refused login, unreachable
// registry, failed build) into bad input: the swap stops in planning, so
// nothing was created and the route was not touched.
func imageUnavailable(err error) error {
	if !errors.Is(err, engine.ErrImageUnavailable) {
		return err
	}
	return asBadInput(fmt.Errorf("%w\nnothing was changed: no container was created and the route was not touched", err))
}

// setIdentityLabels records on a new container which image it runs and
// which it replaced, so that `docker inspect` (and a later rollback) can
// tell exactly what was deployed. Labels copied from the replaced
// container are overwritten or, when unknown now, removed: an image built
// here has no repository digest, and must not inherit the old one's.
func setIdentityLabels(lbls map[string]string, img *engine.Image, ref string, like *engine.Container) {
	lbls[labels.ImageIDLabel] = img.ID
	if d := img.RepoDigest(ref); d != "" {
		lbls[labels.ImageDigestLabel] = d
	} else {
		delete(lbls, labels.ImageDigestLabel)
	}
	delete(lbls, labels.PreviousImageLabel)
	delete(lbls, labels.PreviousImageIDLabel)
	if like != nil {
		lbls[labels.PreviousImageLabel] = like.Image
		lbls[labels.PreviousImageIDLabel] = like.ImageID
	}
}
