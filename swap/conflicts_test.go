package swap

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/traefik"
)

// A Traefik that restarts answers nothing, then 404 until its API is up:
// that is not the user's to fix, so a keeper tries again (bad input it
// would report once and leave until the service's next event).
func TestSyncWhileTraefiksAPIIsNotUpIsNotBadInput(t *testing.T) {
	w := newWorld()
	w.runtime = func() (*traefik.Runtime, error) {
		return nil, errors.New("Traefik API http://traefik:8080/api/rawdata answered 404 Not Found: 404 page not found")
	}
	before := w.routes["web"]
	_, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "answered 404")
	assert.Contains(t, err.Error(), "--traefik-api")
	assert.Equal(t, before, w.routes["web"], "the route file is untouched")
}
