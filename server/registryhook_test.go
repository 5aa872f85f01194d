package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envelope is a notification as distribution sends it for `docker push`
// of 127.0.0.1:5000/app:TAG.
func envelope(id, tag string) string {
	return `{"events":[
	 {"id":"` + id + `-blob","action":"push","target":{"mediaType":"application/octet-stream","digest":"sha256:aaaa","repository":"app"},"request":{"host":"127.0.0.1:5000","method":"PUT"}},
	 {"id":"` + id + `","timestamp":"2025-01-02T15:04:05Z","action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:` + sixtyFour + `","repository":"app","url":"http://127.0.0.1:5000/v2/app/manifests/sha256:` + sixtyFour + `","tag":"` + tag + `"},"request":{"id":"r1","addr":"172.17.0.1:4242","host":"127.0.0.1:5000","method":"PUT","useragent":"docker/20.10"},"actor":{},"source":{"addr":"registry:5000","instanceID":"x"}},
	 {"id":"` + id + `-pull","action":"pull","target":{"repository":"app","tag":"` + tag + `"},"request":{"host":"127.0.0.1:5000"}}
	]}`
}

func TestRegistryHook(t *testing.T) {
	hook, err := ParseHook("service=web,image=127.0.0.1:5000/app,tags=v*")
	require.NoError(t, err)
	s, hs, fb := testServer(t, Options{Hooks: []Hook{hook}, RegistryToken: "registry-token"})
	url := hs.URL + "/v1/hooks/registry"
	ct := map[string]string{"Content-Type": "application/vnd.docker.distribution.events.v1+json"}

	for name, h := range map[string]map[string]string{
		"no token":             {"Authorization": ""},
		"the API token":        {"Authorization": "Bearer " + testToken},
		"wrong token":          {"Authorization": "Bearer nope"},
		"wrong query token":    {"Authorization": ""},
		"token as a basic pwd": {"Authorization": "Basic registry-token"},
	} {
		u := url
		if name == "wrong query token" {
			u += "?token=nope"
		}
		status, _ := call(t, http.MethodPost, u, envelope("e0", "v2"), h)
		assert.Equal(t, http.StatusUnauthorized, status, name)
	}
	assert.Empty(t, fb.recorded(), "a refused notification swaps nothing")

	status, body := call(t, http.MethodPost, url, envelope("e1", "v2"), map[string]string{"Authorization": "Bearer registry-token", "Content-Type": ct["Content-Type"]})
	require.Equal(t, http.StatusAccepted, status, string(body))
	var ans hookAnswer
	require.NoError(t, json.Unmarshal(body, &ans))
	require.Len(t, ans.Swaps, 1)
	assert.Equal(t, "127.0.0.1:5000/app:v2", ans.Swaps[0].Image)
	out, err := s.Outcome(t.Context(), ans.Swaps[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, []string{"swap web 127.0.0.1:5000/app:v2 pull=always"}, fb.recorded())

	// The registry retries a delivery it thinks failed: no second swap.
	status, body = call(t, http.MethodPost, url+"?token=registry-token", envelope("e1", "v2"), map[string]string{"Authorization": ""})
	assert.Equal(t, http.StatusOK, status, string(body))
	// A tag no hook wants: 200, so that the registry does not retry.
	status, body = call(t, http.MethodPost, url+"?token=registry-token", envelope("e2", "nightly"), map[string]string{"Authorization": ""})
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), "no --hook matches")
	assert.Len(t, fb.recorded(), 1)

	status, _ = call(t, http.MethodPost, url+"?token=registry-token", `not json`, map[string]string{"Authorization": ""})
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestRegistryHookRefusesTheAPITokenInAQueryString(t *testing.T) {
	hook, err := ParseHook("service=web,image=127.0.0.1:5000/app,tags=v*")
	require.NoError(t, err)
	// No registry token of its own: the hook shares the API token, which
	// must never travel in a URL that registries log.
	_, hs, fb := testServer(t, Options{Hooks: []Hook{hook}})
	url := hs.URL + "/v1/hooks/registry"
	status, body := call(t, http.MethodPost, url+"?token="+testToken, envelope("e1", "v2"), map[string]string{"Authorization": ""})
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(body), "--registry-token-file")
	assert.Empty(t, fb.recorded())
	// In the Authorization header it is accepted.
	status, body = call(t, http.MethodPost, url, envelope("e1", "v2"), nil)
	assert.Equal(t, http.StatusAccepted, status, string(body))
}
