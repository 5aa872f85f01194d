package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// An Ensure's source decides what it sets; the getter's own settings the
// rest. A build wins over any pull policy, which then only says whether
// the build pulls its base images.
func TestImagesResolveTheSourceOfOneEnsure(t *testing.T) {
	configured := &BuildOptions{Context: "./app"}
	asked := &BuildOptions{Context: "./other"}
	for _, tc := range []struct {
		name   string
		images Images
		src    Source
		want   Source
	}{
		{"the getter's own", Images{Policy: PullMissing}, Source{}, Source{Pull: PullMissing}},
		{"the getter builds", Images{Policy: PullMissing, Build: configured}, Source{}, Source{Pull: PullMissing, Build: configured}},
		{"asked to pull always", Images{Policy: PullMissing}, Source{Pull: PullAlways}, Source{Pull: PullAlways}},
		{"asked never to pull", Images{Policy: PullAlways}, Source{Pull: PullNever}, Source{Pull: PullNever}},
		{"asked to build", Images{Policy: PullMissing}, Source{Build: asked}, Source{Pull: PullMissing, Build: asked}},
		{"asked to build another context", Images{Policy: PullNever, Build: configured}, Source{Build: asked}, Source{Pull: PullNever, Build: asked}},
		{"a pull policy keeps the getter's build", Images{Policy: PullMissing, Build: configured}, Source{Pull: PullAlways}, Source{Pull: PullAlways, Build: configured}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.images.resolve(tc.src))
		})
	}
}
