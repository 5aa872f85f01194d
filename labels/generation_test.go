package labels

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func renderedFor(t *testing.T, hosts ...string) []byte {
	t.Helper()
	r, err := DecodeTraefik(merge(simpleLabels, map[string]string{
		"traefik.http.routers.web.middlewares":                "strip",
		"traefik.http.middlewares.strip.stripprefix.prefixes": "/api",
	}), "web", nil)
	require.NoError(t, err)
	targets := make([]Target, 0, len(hosts))
	for _, h := range hosts {
		targets = append(targets, Target{Host: h})
	}
	content, err := r.File("web", targets)
	require.NoError(t, err)
	return content
}

func TestStampRecordsTheGenerationAndKeepsTheRest(t *testing.T) {
	plain := renderedFor(t, "web-2")
	stamped, err := Stamp(plain, "web", 1234)
	require.NoError(t, err)

	assert.Equal(t, Generation(1234), GenerationOf(stamped))
	assert.Equal(t, Generation(0), GenerationOf(plain), "a file without a marker has generation 0")
	assert.True(t, bytes.HasPrefix(stamped, []byte("# Written by dswap")), "the header comment stays:\n%s", stamped)

	cfg := decodeFile(t, stamped)
	require.Contains(t, cfg.HTTP.Middlewares, "dswap-generation-web")
	assert.Equal(t, "1234", cfg.HTTP.Middlewares["dswap-generation-web"].Headers.CustomRequestHeaders[GenerationHeader])
	assert.Equal(t, []string{"strip"}, cfg.HTTP.Routers["web"].Middlewares, "no router uses the marker")

	rf, err := ReadRouteFile(stamped)
	require.NoError(t, err)
	assert.Equal(t, []string{"strip"}, rf.Middlewares, "the marker is not one of the file's middlewares")
	assert.Equal(t, Generation(1234), rf.Generation)
	assert.Equal(t, []string{"http://web-2:8080"}, rf.Servers["web"])

	again, err := Stamp(stamped, "web", 1235)
	require.NoError(t, err)
	assert.Equal(t, Generation(1235), GenerationOf(again))
	assert.Equal(t, 1, strings.Count(string(again), "dswap-generation-"), "a new stamp replaces the old marker:\n%s", again)
}

func TestStampKeepsTemplateEscapes(t *testing.T) {
	rule := "Host(`example.com`) && PathRegexp(`^/{{id}}/[a-z]{2}$`)"
	r, err := DecodeTraefik(merge(simpleLabels, map[string]string{"traefik.http.routers.web.rule": rule}), "app", nil)
	require.NoError(t, err)
	plain, err := r.File("app", []Target{{Host: "app-2"}})
	require.NoError(t, err)
	stamped, err := Stamp(plain, "app", 7)
	require.NoError(t, err)
	assert.Equal(t, rule, decodeFile(t, stamped).HTTP.Routers["web"].Rule)
}

func TestStampEdgeCases(t *testing.T) {
	stamped, err := Stamp(nil, "shop/web", 9)
	require.NoError(t, err, "an empty file gets a marker of its own")
	assert.Equal(t, Generation(9), GenerationOf(stamped))
	assert.Contains(t, string(stamped), "dswap-generation-shop_web:", "the marker name is safe for Traefik")

	_, err = Stamp([]byte("http: [unclosed"), "web", 9)
	assert.ErrorContains(t, err, "not YAML")
	_, err = Stamp([]byte("- a list"), "web", 9)
	assert.ErrorContains(t, err, "not a YAML mapping")
}

func TestSameRouteIgnoresOnlyTheGeneration(t *testing.T) {
	plain := renderedFor(t, "web-2")
	a, err := Stamp(plain, "web", 1)
	require.NoError(t, err)
	b, err := Stamp(plain, "web", 2)
	require.NoError(t, err)
	other, err := Stamp(renderedFor(t, "web-3"), "web", 2)
	require.NoError(t, err)

	assert.True(t, SameRoute(a, b), "two writes of the same route")
	assert.True(t, SameRoute(plain, a), "a file an older dswap wrote, without a marker")
	assert.False(t, SameRoute(a, other), "a different server")
	assert.False(t, SameRoute(a, nil), "no file")
}

func TestNextGenerationIsStrictlyGreater(t *testing.T) {
	now := time.Unix(100, 0)
	assert.Equal(t, Generation(now.UnixNano()), NextGeneration(0, now))
	assert.Equal(t, Generation(now.UnixNano()+1), NextGeneration(Generation(now.UnixNano()), now), "the same clock value")
	assert.Equal(t, Generation(now.UnixNano()+6), NextGeneration(Generation(now.UnixNano()+5), now), "a clock that went back")
}
