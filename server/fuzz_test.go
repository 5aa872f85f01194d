package server

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// fuzzHooks are the hooks the fuzz targets match events against.
func fuzzHooks(f *testing.F) []Hook {
	var hooks []Hook
	for _, s := range []string{
		"service=web,image=127.0.0.1:5000/app,tags=v*",
		"service=web2,image=ghcr.io/acme/app,tags=v*|latest,ref=digest",
		"service=api,image=ghcr.io/acme/api,repo=acme/api,workflow=release*,branches=main|release/*,tag=sha-{short_sha}",
		"service=job,image=ghcr.io/acme/job,repo=acme/job,workflow_path=.github/workflows/release.yml,tag={branch}-{sha}",
	} {
		h, err := ParseHook(s)
		if err != nil {
			f.Fatal(err)
		}
		hooks = append(hooks, h)
	}
	return hooks
}

// FuzzRegistryNotification reads any body as a registry notification:
// it never panics, and every swap it asks for names a valid image of a
// hook's repository.
func FuzzRegistryNotification(f *testing.F) {
	hooks := fuzzHooks(f)
	f.Add([]byte(envelope("e1", "v2")))
	f.Add([]byte(envelope("e2", "nightly")))
	f.Add([]byte(`{"events":[{"id":"x","action":"push","target":{"repository":"a/../b","tag":"v1"},"request":{"host":"h:1"}}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env registryEnvelope
		if json.Unmarshal(body, &env) != nil {
			return
		}
		pushes, ids, err := registryPushes(env)
		if err != nil {
			return
		}
		if len(pushes) != len(ids) {
			t.Fatalf("%d pushes but %d ids", len(pushes), len(ids))
		}
		checkTriggers(t, pushTriggers(hooks, pushes))
	})
}

// FuzzGitHubEvent reads any body as any GitHub event: it never panics,
// a swap is asked for only by an event its hook accepts, and the event's
// identity never is empty.
func FuzzGitHubEvent(f *testing.F) {
	hooks := fuzzHooks(f)
	for _, kind := range []string{"package", "registry_package", "workflow_run", "ping"} {
		f.Add(kind, packageEvent("v2"))
		f.Add(kind, runEvent(5, 1, 20, "2026-01-02T12:00:00Z", "acme/api", ".github/workflows/release.yml", "main"))
		f.Add(kind, runEvent(6, 2, 21, "2026-01-02T12:00:00Z", "acme/job", ".github/workflows/release.yml", "feature/x"))
	}
	f.Add("registry_package", []byte(`{"action":"published","registry_package":{"name":"app","package_type":"container","owner":{"login":"Acme"},"package_version":{"container_metadata":{"tag":{"name":"v3"}}}}}`))
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		var ev githubEvent
		if json.Unmarshal(body, &ev) != nil {
			return
		}
		if githubIdentity(kind, ev, body) == "" {
			t.Fatal("an event without identity")
		}
		triggers, err := githubTriggers(hooks, kind, ev)
		if err != nil {
			return
		}
		checkTriggers(t, triggers)
		for _, tr := range triggers {
			if tr.Hook.forRuns() && (ev.WorkflowRun == nil || !strings.EqualFold(tr.Hook.GitHubRepo, ev.Repository.FullName) || ev.WorkflowRun.Conclusion != "success") {
				t.Fatalf("workflow hook %s triggered by %s", tr.Hook, body)
			}
		}
	})
}

func checkTriggers(t *testing.T, triggers []trigger) {
	t.Helper()
	seen := map[string]bool{}
	for _, tr := range triggers {
		if seen[tr.Hook.Service] {
			t.Fatalf("two swaps of %s from one event", tr.Hook.Service)
		}
		seen[tr.Hook.Service] = true
		ref, err := reference.ParseNormalizedNamed(tr.Image)
		if err != nil {
			// A workflow tag template filled with a branch name may make
			// an invalid tag; the swap then fails on its image, which is
			// acceptable, but it must still be the hook's repository.
			if !strings.HasPrefix(tr.Image, reference.FamiliarString(tr.Hook.Repo)+":") {
				t.Fatalf("image %q is not of the hook's repository %s", tr.Image, tr.Hook.Repo)
			}
			continue
		}
		if reference.TrimNamed(ref).Name() != tr.Hook.Repo.Name() {
			t.Fatalf("image %q is not of the hook's repository %s", tr.Image, tr.Hook.Repo)
		}
	}
}

// FuzzResumePoint reads any Last-Event-ID / ?after=: it never panics,
// and the index it returns is within a run's records.
func FuzzResumePoint(f *testing.F) {
	for _, s := range []string{"", "0", "1", "4999", "5000", "9223372036854775807", "18446744073709551615", "-1", "+1", " 1", "1e3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, after string) {
		next, err := resumePoint(after)
		if err != nil {
			return
		}
		if next < 0 || next > maxRecords {
			t.Fatalf("resumePoint(%q) = %d, outside 0..%d", after, next, maxRecords)
		}
		if n, perr := strconv.Atoi(after); after != "" && perr == nil && n < maxRecords && next != n+1 {
			t.Fatalf("resumePoint(%q) = %d, want %d", after, next, n+1)
		}
	})
}
