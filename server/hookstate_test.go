package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runEvent is a signed-body-shaped workflow_run delivery.
func runEvent(id, attempt, number int, created, repo, path, branch string) []byte {
	return []byte(fmt.Sprintf(`{"action":"completed","repository":{"full_name":%q},
	 "workflow_run":{"id":%d,"run_attempt":%d,"run_number":%d,"name":"release","path":%q,"event":"push",
	  "head_branch":%q,"head_sha":"0123456789abcdef%d","conclusion":"success","created_at":%q,
	  "head_repository":{"full_name":%q}}}`, repo, id, attempt, number, path, branch, id, created, repo))
}

func signed(body []byte) string { return signGitHub([]byte(githubSecret), body) }

func TestGitHubReplayUnderANewDeliveryIDSwapsOnce(t *testing.T) {
	hook, err := ParseHook("service=web,image=ghcr.io/acme/app,tags=v*")
	require.NoError(t, err)
	s, hs, fb := testServer(t, Options{Hooks: []Hook{hook}, GitHubSecret: githubSecret})
	url := hs.URL + "/v1/hooks/github"
	body := packageEvent("v2")
	status, resp := postGitHub(t, url, "package", "d1", body, signed(body))
	require.Equal(t, http.StatusAccepted, status, string(resp))
	var ans hookAnswer
	require.NoError(t, json.Unmarshal(resp, &ans))
	_, err = s.Outcome(t.Context(), ans.Swaps[0].ID)
	require.NoError(t, err)

	// The delivery ID is not signed: a captured body sent again under a
	// new one is the same event.
	status, resp = postGitHub(t, url, "package", "d-forged", body, signed(body))
	assert.Equal(t, http.StatusOK, status, string(resp))
	assert.Len(t, fb.recorded(), 1)
}

func TestGitHubRedeliveryAfterARefusalSwaps(t *testing.T) {
	hook, err := ParseHook("service=web,image=ghcr.io/acme/app,tags=v*")
	require.NoError(t, err)
	release := make(chan struct{})
	s, hs, fb := testServer(t, Options{Backend: gatedBackend(release), Hooks: []Hook{hook}, GitHubSecret: githubSecret, MaxRunning: 1})
	url := hs.URL + "/v1/hooks/github"
	// One swap runs: the sidecar is full, and refuses the delivery with 503.
	busy, err := s.start(runSpec{kind: "swap", service: "other", image: "x:1", trigger: "api"})
	require.NoError(t, err)
	body := packageEvent("v2")
	status, _ := postGitHub(t, url, "package", "d1", body, signed(body))
	require.Equal(t, http.StatusServiceUnavailable, status)
	close(release)
	_, err = s.Outcome(t.Context(), busy.ID)
	require.NoError(t, err)
	// GitHub's redelivery of the refused delivery is not "seen before".
	status, resp := postGitHub(t, url, "package", "d1", body, signed(body))
	require.Equal(t, http.StatusAccepted, status, string(resp))
	// The answer comes when the swap has started, not ended: wait for it
	// before reading what the backend was asked.
	var ans hookAnswer
	require.NoError(t, json.Unmarshal(resp, &ans))
	require.Len(t, ans.Swaps, 1)
	_, err = s.Outcome(t.Context(), ans.Swaps[0].ID)
	require.NoError(t, err)
	assert.Contains(t, fb.recorded(), "swap web ghcr.io/acme/app:v2 pull=always")
}

func TestWorkflowRunMatchesRepositoryPathAndOrder(t *testing.T) {
	hook, err := ParseHook("service=web,image=ghcr.io/acme/app,repo=acme/app,workflow_path=.github/workflows/release.yml,branches=main,tag=sha-{short_sha}")
	require.NoError(t, err)
	s, hs, fb := testServer(t, Options{Hooks: []Hook{hook}, GitHubSecret: githubSecret, StateDir: t.TempDir()})
	url := hs.URL + "/v1/hooks/github"
	post := func(body []byte) int {
		status, resp := postGitHub(t, url, "workflow_run", "d", body, signed(body))
		var ans hookAnswer
		_ = json.Unmarshal(resp, &ans)
		for _, sw := range ans.Swaps {
			_, err := s.Outcome(t.Context(), sw.ID)
			require.NoError(t, err)
		}
		return status
	}
	const wf = ".github/workflows/release.yml"
	assert.Equal(t, http.StatusOK, post(runEvent(1, 1, 10, "2026-01-02T10:00:00Z", "mallory/app", wf, "main")), "another repository")
	assert.Equal(t, http.StatusOK, post(runEvent(2, 1, 11, "2026-01-02T10:00:00Z", "acme/app", ".github/workflows/release-copy.yml", "main")), "another workflow file with the same name")
	assert.Empty(t, fb.recorded())

	assert.Equal(t, http.StatusAccepted, post(runEvent(5, 1, 20, "2026-01-02T12:00:00Z", "acme/app", wf, "main")))
	assert.Equal(t, http.StatusOK, post(runEvent(4, 1, 19, "2026-01-02T11:00:00Z", "acme/app", wf, "main")), "a run older than the deployed one")
	assert.Equal(t, http.StatusOK, post(runEvent(5, 1, 20, "2026-01-02T12:00:00Z", "acme/app", wf, "main")), "the same run again")
	assert.Equal(t, http.StatusAccepted, post(runEvent(5, 2, 20, "2026-01-02T12:00:00Z", "acme/app", wf, "main")), "a re-run attempt of the deployed run")
	assert.Len(t, fb.recorded(), 2)
}

func TestHookStateSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	st := loadHookState(filepath.Join(dir, hookStateFile), 3, nil)
	for _, id := range []string{"a", "b", "c", "d"} {
		require.True(t, st.reserve(id))
		st.commit([]string{id}, nil)
	}
	st.commit(nil, map[string]runMark{"web": {ID: 7, Attempt: 1, Number: 3}})
	info, err := os.Stat(filepath.Join(dir, hookStateFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again := loadHookState(filepath.Join(dir, hookStateFile), 3, nil)
	assert.False(t, again.reserve("d"), "seen before the restart")
	assert.False(t, again.reserve("b"))
	assert.True(t, again.reserve("a"), "the oldest fell out: the file stays bounded")
	assert.Equal(t, runMark{ID: 7, Attempt: 1, Number: 3}, again.runs["web"])
}
