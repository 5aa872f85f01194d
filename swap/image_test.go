package swap

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

const digestV2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

func TestUpRecordsTheImageIdentity(t *testing.T) {
	w := newWorld()
	w.images["myapp:v2"].RepoDigests = []string{"myapp@" + digestV2}
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	got := w.containers["id-web-2"].Labels
	assert.Equal(t, "sha256:myapp:v2", got[labels.ImageIDLabel])
	assert.Equal(t, "myapp@"+digestV2, got[labels.ImageDigestLabel])
	assert.Equal(t, "myapp:v1", got[labels.PreviousImageLabel])
	assert.Equal(t, "sha256:myapp:v1", got[labels.PreviousImageIDLabel])
	_, err = labels.DecodeSettings(got)
	assert.NoError(t, err, "the identity labels are not mistaken for misspelt settings when the container is swapped again")
}

func TestUpDoesNotInheritTheOldImageIdentity(t *testing.T) {
	w := newWorld()
	// The running container was itself deployed by dswap from a registry;
	// v2 was built here and has no repository digest.
	old := w.containers["id-web"]
	old.Labels[labels.ImageIDLabel] = "sha256:myapp:v1"
	old.Labels[labels.ImageDigestLabel] = "myapp@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	old.Labels[labels.PreviousImageLabel] = "myapp:v0"
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	got := w.containers["id-web-2"].Labels
	assert.Equal(t, "sha256:myapp:v2", got[labels.ImageIDLabel])
	assert.NotContains(t, got, labels.ImageDigestLabel)
	assert.Equal(t, "myapp:v1", got[labels.PreviousImageLabel])
}

// failingImages cannot get any image.
type failingImages struct {
	fakeImages
	err error
}

func (f failingImages) Ensure(context.Context, string, engine.Source) (*engine.Image, error) {
	return nil, f.err
}

func TestUpWithAnImageThatCannotBeHadChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		badInput bool
	}{
		{"refused login", &engine.ImageError{Ref: "myapp:v2", Problem: engine.ImageUnauthorized, Registry: "docker.io", CredentialSource: "none", Err: errors.New("unauthorized")}, true},
		{"failed build", &engine.ImageError{Ref: "myapp:v2", Problem: engine.ImageBuildFailed, BuildContext: "./app", Err: errors.New("unknown instruction: FROMM")}, true},
		{"Engine trouble", errors.New("pulling image myapp:v2: no space left on device"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			route := w.routes["web"]
			s := w.swapper()
			s.Images = failingImages{fakeImages{w}, tc.err}
			_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, tc.badInput, errors.Is(err, ErrBadInput))
			if tc.badInput {
				assert.Contains(t, err.Error(), "nothing was changed")
			}
			assert.Empty(t, w.log, "no container created, no route written")
			assert.Equal(t, route, w.routes["web"])
			assert.Len(t, w.containers, 1)
		})
	}
}

// How to get the image (pull it, and when, or build it) is the request's
// choice, and reaches the image getter as it was made.
func TestUpGetsTheImageAsTheRequestSays(t *testing.T) {
	build := &engine.BuildOptions{Context: "./app", Target: "prod"}
	for _, tc := range []struct {
		name string
		src  engine.Source
	}{
		{"as the getter was configured", engine.Source{}},
		{"pull always", engine.Source{Pull: engine.PullAlways}},
		{"never pull", engine.Source{Pull: engine.PullNever}},
		{"build", engine.Source{Build: build}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Source: tc.src})
			require.NoError(t, err)
			assert.Equal(t, []ensured{{"myapp:v2", tc.src}}, w.ensured, "the image is got once, before anything changes")
		})
	}
}

// A rollback goes back to an image that is still on the Engine: it is
// found, not pulled or built again.
func TestRollbackGetsThePreviousImageAsTheGetterWasConfigured(t *testing.T) {
	w := newWorld()
	hist := memHistory{}
	s := w.swapper()
	s.History = hist
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Source: engine.Source{Pull: engine.PullAlways}})
	require.NoError(t, err)
	w.ensured = nil
	s = w.swapper()
	s.History = hist
	_, err = s.Rollback(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []ensured{{"myapp:v1", engine.Source{}}}, w.ensured)
}
