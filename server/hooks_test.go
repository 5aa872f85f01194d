package server

import (
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

func TestParseHook(t *testing.T) {
	h, err := ParseHook("service=web, image=127.0.0.1:5000/app, tags=v*|latest, drain=5s, ref=digest, pull=missing")
	require.NoError(t, err)
	assert.Equal(t, "web", h.Service)
	assert.Equal(t, "127.0.0.1:5000/app", h.Repo.Name())
	assert.Equal(t, []string{"v*", "latest"}, h.Tags)
	assert.True(t, h.ByDigest)
	assert.Equal(t, engine.PullMissing, h.Pull)
	require.NotNil(t, h.Drain)
	assert.Equal(t, 5*time.Second, *h.Drain)

	h, err = ParseHook("service=web,image=ghcr.io/acme/app,repo=acme/app,workflow=release*,branches=main,tag=sha-{short_sha}")
	require.NoError(t, err)
	assert.Equal(t, engine.PullAlways, h.Pull, "a pushed tag may have moved: pull it again by default")
	assert.Equal(t, "sha-0123456", h.expand("0123456789", "main"))

	for _, bad := range []string{
		"", "service=web", "image=app", "service=web,image=app:v1", "service=web,image=app@sha256:" + sixtyFour,
		"service=web,image=app,tags=[", "service=web,image=app,colour=red", "service=web,image=app,service=api",
		"service=web,image=app,drain=soon", "service=web,image=app,ref=branch", "service=web,image=app,pull=sometimes",
		"service=web,image=UPPER", "service=web,image=app,tags", "service=web,image=app,repo=a/b,workflow=x,tag=a b",
		"service=web,image=app,workflow=release", "service=web,image=app,repo=acme,workflow=x",
		"service=web,image=app,repo=a/b,workflow_path=../x.yml", "service=web,image=app,repo=a/b,workflow_path=release.yml",
	} {
		_, err := ParseHook(bad)
		assert.Error(t, err, bad)
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func named(t *testing.T, s string) reference.Named {
	t.Helper()
	n, err := reference.ParseNormalizedNamed(s)
	require.NoError(t, err)
	return n
}

func TestHookMatchesPush(t *testing.T) {
	h, err := ParseHook("service=web,image=127.0.0.1:5000/acme/app,tags=v*|latest")
	require.NoError(t, err)
	for _, tc := range []struct {
		repo, tag string
		want      bool
	}{
		{"127.0.0.1:5000/acme/app", "v2", true},
		{"127.0.0.1:5000/acme/app", "v2.1.0-rc1", true},
		{"127.0.0.1:5000/acme/app", "latest", true},
		{"127.0.0.1:5000/acme/app", "main", false},
		{"127.0.0.1:5000/acme/app", "", false}, // a push by digest alone
		{"127.0.0.1:5000/acme/other", "v2", false},
		{"127.0.0.1:5001/acme/app", "v2", false}, // same path, other registry
		{"acme/app", "v2", false},
	} {
		assert.Equal(t, tc.want, h.matchesPush(push{Repo: named(t, tc.repo), Tag: tc.tag}), "%s:%s", tc.repo, tc.tag)
	}
	wf, err := ParseHook("service=web,image=127.0.0.1:5000/acme/app,repo=acme/app,workflow=build")
	require.NoError(t, err)
	assert.False(t, wf.matchesPush(push{Repo: named(t, "127.0.0.1:5000/acme/app"), Tag: "v2"}), "a workflow hook reacts to workflow runs only")
}

func TestPushTriggers(t *testing.T) {
	web, _ := ParseHook("service=web,image=127.0.0.1:5000/app,tags=v*")
	pinned, _ := ParseHook("service=api,image=127.0.0.1:5000/app,tags=v*,ref=digest")
	got := pushTriggers([]Hook{web, pinned}, []push{
		{Repo: named(t, "127.0.0.1:5000/app"), Tag: "v2", Digest: "sha256:" + sixtyFour},
		{Repo: named(t, "127.0.0.1:5000/app"), Tag: "v3", Digest: "sha256:" + sixtyFour[:63] + "0"},
		{Repo: named(t, "127.0.0.1:5000/app"), Tag: "nightly"},
	})
	require.Len(t, got, 2)
	assert.Equal(t, "web", got[0].Hook.Service)
	assert.Equal(t, "127.0.0.1:5000/app:v3", got[0].Image, "the later push of one delivery wins")
	assert.Equal(t, "api", got[1].Hook.Service)
	assert.Equal(t, "127.0.0.1:5000/app@sha256:"+sixtyFour[:63]+"0", got[1].Image)
}

func TestHookStateReservesUntilCommitted(t *testing.T) {
	s := loadHookState("", 2, nil)
	assert.True(t, s.reserve("a"))
	assert.False(t, s.reserve("a"), "held while its swaps start")
	s.release([]string{"a"})
	assert.True(t, s.reserve("a"), "released: a retry is taken")
	s.commit([]string{"a"}, nil)
	assert.False(t, s.reserve("a"))
	assert.True(t, s.reserve("b"))
	s.commit([]string{"b"}, nil)
	assert.True(t, s.reserve("c"))
	s.commit([]string{"c"}, nil) // evicts a
	assert.True(t, s.reserve("a"))
	assert.True(t, s.reserve(""), "no id: cannot tell, so never a duplicate")
	assert.True(t, s.reserve(""))
}
