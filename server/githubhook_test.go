package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const githubSecret = "github-webhook-secret"

// packageEvent is a trimmed "package" delivery for ghcr.io/acme/app:TAG.
func packageEvent(tag string) []byte {
	return []byte(`{"action":"published","package":{"id":1,"name":"app","namespace":"acme","package_type":"CONTAINER","owner":{"login":"acme"},
	 "package_version":{"id":2,"version":"sha256:` + sixtyFour + `","package_url":"ghcr.io/acme/app:` + tag + `",
	  "container_metadata":{"tag":{"name":"` + tag + `","digest":"sha256:` + sixtyFour + `"}}},
	 "registry":{"url":"https://ghcr.io/acme","type":"docker"}}}`)
}

func postGitHub(t *testing.T, url, kind, delivery string, body []byte, signature string) (int, []byte) {
	t.Helper()
	return call(t, http.MethodPost, url, body, map[string]string{
		"Authorization": "", "X-GitHub-Event": kind, "X-GitHub-Delivery": delivery,
		"X-Hub-Signature-256": signature, "Content-Type": "application/json",
	})
}

func TestGitHubHookVerifiesTheSignatureBeforeAnything(t *testing.T) {
	hook, err := ParseHook("service=web,image=ghcr.io/acme/app,tags=v*")
	require.NoError(t, err)
	s, hs, fb := testServer(t, Options{Hooks: []Hook{hook}, GitHubSecret: githubSecret})
	url := hs.URL + "/v1/hooks/github"
	body := packageEvent("v2")

	for name, sig := range map[string]string{
		"missing":      "",
		"wrong secret": signGitHub([]byte("guess"), body),
		"other body":   signGitHub([]byte(githubSecret), packageEvent("v3")),
		"malformed":    "sha256=xyz",
	} {
		status, _ := postGitHub(t, url, "package", "d-"+name, body, sig)
		assert.Equal(t, http.StatusUnauthorized, status, name)
	}
	assert.Empty(t, fb.recorded(), "a delivery with a bad signature swaps nothing")

	status, resp := postGitHub(t, url, "package", "d1", body, signGitHub([]byte(githubSecret), body))
	require.Equal(t, http.StatusAccepted, status, string(resp))
	var ans hookAnswer
	require.NoError(t, json.Unmarshal(resp, &ans))
	require.Len(t, ans.Swaps, 1)
	_, err = s.Outcome(t.Context(), ans.Swaps[0].ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"swap web ghcr.io/acme/app:v2 pull=always"}, fb.recorded())

	// GitHub redelivers with the same delivery id: nothing new.
	status, _ = postGitHub(t, url, "package", "d1", body, signGitHub([]byte(githubSecret), body))
	assert.Equal(t, http.StatusOK, status)
	ping := []byte(`{"zen":"Keep it logically awesome."}`)
	status, _ = postGitHub(t, url, "ping", "d2", ping, signGitHub([]byte(githubSecret), ping))
	assert.Equal(t, http.StatusOK, status)
	assert.Len(t, fb.recorded(), 1)
}

func TestGitHubHookIsOffWithoutASecret(t *testing.T) {
	_, hs, fb := testServer(t, Options{})
	body := packageEvent("v2")
	status, _ := postGitHub(t, hs.URL+"/v1/hooks/github", "package", "d1", body, signGitHub(nil, body))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Empty(t, fb.recorded())
}

func TestGitHubTriggers(t *testing.T) {
	push, _ := ParseHook("service=web,image=ghcr.io/acme/app,tags=v*")
	release, err := ParseHook("service=api,image=ghcr.io/acme/api,repo=acme/api,workflow=release*,branches=main|release/*,tag=sha-{short_sha}")
	require.NoError(t, err)
	hooks := []Hook{push, release}
	decode := func(s string) githubEvent {
		var ev githubEvent
		require.NoError(t, json.Unmarshal([]byte(s), &ev))
		return ev
	}
	run := func(name, branch, conclusion, action string) githubEvent {
		return decode(`{"action":"` + action + `","repository":{"full_name":"acme/api"},"workflow_run":{"name":"` + name + `","head_branch":"` + branch + `","head_sha":"0123456789abcdef","conclusion":"` + conclusion + `","head_repository":{"full_name":"acme/api"}}}`)
	}
	for _, tc := range []struct {
		name, kind string
		ev         githubEvent
		want       []string // service=image
	}{
		{"package", "package", decode(string(packageEvent("v2"))), []string{"web=ghcr.io/acme/app:v2"}},
		{"registry_package", "registry_package", decode(`{"action":"published","registry_package":{"name":"app","package_type":"container","owner":{"login":"Acme"},"package_version":{"container_metadata":{"tag":{"name":"v3"}}}}}`), []string{"web=ghcr.io/acme/app:v3"}},
		{"package tag no hook wants", "package", decode(string(packageEvent("main"))), nil},
		{"untagged package version", "package", decode(`{"action":"published","package":{"name":"app","package_type":"container","owner":{"login":"acme"},"package_version":{"version":"sha256:` + sixtyFour + `"}}}`), nil},
		{"npm package", "package", decode(`{"action":"published","package":{"name":"app","package_type":"npm","owner":{"login":"acme"},"package_version":{"container_metadata":{"tag":{"name":"v2"}}}}}`), nil},
		{"workflow success on main", "workflow_run", run("release", "main", "success", "completed"), []string{"api=ghcr.io/acme/api:sha-0123456"}},
		{"workflow success on a release branch", "workflow_run", run("release-docker", "release/1.2", "success", "completed"), []string{"api=ghcr.io/acme/api:sha-0123456"}},
		{"workflow failed", "workflow_run", run("release", "main", "failure", "completed"), nil},
		{"workflow still running", "workflow_run", run("release", "main", "", "in_progress"), nil},
		{"other workflow", "workflow_run", run("test", "main", "success", "completed"), nil},
		{"other branch", "workflow_run", run("release", "feature", "success", "completed"), nil},
		{"push event", "push", decode(`{}`), nil},
		{"workflow of another repository", "workflow_run", decode(`{"action":"completed","repository":{"full_name":"mallory/api"},"workflow_run":{"name":"release","head_branch":"main","head_sha":"0123456789abcdef","conclusion":"success"}}`), nil},
		{"workflow run of a fork's pull request", "workflow_run", decode(`{"action":"completed","repository":{"full_name":"acme/api"},"workflow_run":{"name":"release","head_branch":"main","head_sha":"0123456789abcdef","conclusion":"success","head_repository":{"full_name":"mallory/api"}}}`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := githubTriggers(hooks, tc.kind, tc.ev)
			require.NoError(t, err)
			var flat []string
			for _, g := range got {
				flat = append(flat, g.Hook.Service+"="+g.Image)
			}
			assert.Equal(t, tc.want, flat)
		})
	}
}
