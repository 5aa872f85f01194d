package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
)

type fakeUpkeeper struct {
	server.Upkeeper
	refs       []string
	reconciled []string
}

func (f *fakeUpkeeper) ManagedRefs(context.Context) ([]string, error) { return f.refs, nil }
func (f *fakeUpkeeper) Reconcile(_ context.Context, ref string, _ *slog.Logger) (swap.Reconciled, error) {
	f.reconciled = append(f.reconciled, ref)
	return swap.Reconciled{Service: ref, Upkeep: swap.UpkeepUnchanged}, nil
}

type fakeLister []*engine.Container

func (l fakeLister) List(context.Context, engine.ListFilter) ([]*engine.Container, error) {
	return l, nil
}

func TestKeepLooksAfterOnlyServicesRoutedThroughItsDirectory(t *testing.T) {
	ctx := context.Background()
	mine := &engine.Container{ID: "1", Name: "web", Image: "web:v1", State: engine.State{Status: "running", Running: true}, Labels: map[string]string{"dswap.service": "web"}}
	other := &engine.Container{ID: "2", Name: "shop", Image: "shop:v1", State: engine.State{Status: "running", Running: true}, Labels: map[string]string{"dswap.service": "shop"}}
	up := &fakeUpkeeper{refs: []string{"web", "shop"}}
	scoped := routedHere{Upkeeper: up, docker: fakeLister{mine, other}, hasRoute: func(key string) bool { return key == "web" }}

	refs, err := scoped.ManagedRefs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, refs)

	got, err := scoped.Reconcile(ctx, "shop", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, swap.UpkeepElsewhere, got.Upkeep, "another Traefik's service is left alone")
	_, err = scoped.Reconcile(ctx, "web", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, up.reconciled)
}
