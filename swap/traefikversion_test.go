package swap

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
)

// withV3OnlyLabel gives the running container a middleware setting that
// only Traefik v3 knows; the new container inherits it.
func withV3OnlyLabel(w *world) {
	old := w.containers["id-web"]
	old.Labels["traefik.http.routers.web.middlewares"] = "allow"
	old.Labels["traefik.http.middlewares.allow.ipallowlist.sourcerange"] = "127.0.0.1/32"
	old.Labels["traefik.http.middlewares.allow.ipallowlist.rejectstatuscode"] = "404"
}

func TestUpRefusesAFieldTheRunningTraefikDoesNotKnow(t *testing.T) {
	w := newWorld()
	withV3OnlyLabel(w)
	before := w.routes["web"]
	s := w.swapper()
	s.TraefikVersion = labels.TraefikVersion{Major: 2, Minor: 11, Patch: 53}
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), `label "traefik.http.middlewares.allow.ipallowlist.rejectstatuscode": field rejectStatusCode needs Traefik v3.0 or later; the running Traefik is v2.11.53`)
	assert.Empty(t, w.log, "nothing was created or written")
	assert.Equal(t, before, w.routes["web"])
}

func TestUpAcceptsTheSameFieldOnTraefikV3(t *testing.T) {
	w := newWorld()
	withV3OnlyLabel(w)
	s := w.swapper()
	s.TraefikVersion = labels.TraefikVersion{Major: 3, Minor: 6, Patch: 10}
	_, err := s.Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Contains(t, w.routes["web"], "rejectStatusCode")
}

func TestSyncRefusesAFieldTheRunningTraefikDoesNotKnow(t *testing.T) {
	w := newWorld()
	withV3OnlyLabel(w)
	before := w.routes["web"]
	s := w.swapper()
	s.TraefikVersion = labels.TraefikVersion{Major: 2, Minor: 11, Patch: 53}
	_, err := s.Sync(context.Background(), "web", Overrides{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "field rejectStatusCode needs Traefik v3.0 or later")
	assert.Equal(t, before, w.routes["web"], "the route file is untouched")
}
