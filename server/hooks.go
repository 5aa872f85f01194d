package server

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"

	"github.com/dswap-dev/dswap/engine"
)

// Hook maps pushed images (registry notifications, GitHub package events)
// or finished GitHub workflow runs to a service to swap:
//
//	--hook 'service=web,image=registry.example.com/acme/app,tags=v*'
//	--hook 'service=web,image=ghcr.io/acme/app,workflow=release,branches=main,tag=sha-{short_sha}'
type Hook struct {
	Service string
	// Repo is the image repository, without tag, e.g.
	// registry.example.com/acme/app (normalized: docker.io/library/app).
	Repo reference.Named
	// Tags are globs (path.Match) on the pushed tag; default "*".
	Tags []string
	// Workflow is a glob on a GitHub workflow's name: a successful run of
	// it swaps to Repo:Tag. Empty (and no WorkflowPath): the hook reacts
	// to pushes only.
	Workflow string
	// WorkflowPath is the workflow's file in its repository
	// (.github/workflows/release.yml): a name can be given to any
	// workflow, a path names one file.
	WorkflowPath string
	// GitHubRepo is the GitHub repository (owner/name) whose events the
	// hook takes; required for workflow runs, which any repository
	// sending to the same webhook could otherwise claim.
	GitHubRepo string
	// Branches are globs on the workflow run's head branch; default "*".
	Branches []string
	// Tag is the tag a workflow run deploys, with {sha}, {short_sha} and
	// {branch} replaced; default "latest".
	Tag string
	// ByDigest deploys a push as repo@digest instead of repo:tag.
	ByDigest bool
	// Pull is the swap's pull policy; default always, because a tag
	// that was pushed again must be pulled again.
	Pull engine.PullPolicy
	// Drain, when set, overrides the service's drain window.
	Drain *time.Duration
}

// ParseHook reads one --hook value.
func ParseHook(s string) (Hook, error) {
	h := Hook{Tags: []string{"*"}, Branches: []string{"*"}, Tag: "latest", Pull: engine.PullAlways}
	fields, err := keyValues(s)
	if err != nil {
		return h, fmt.Errorf("--hook %q: %w", s, err)
	}
	for _, k := range sortedKeys(fields) {
		v := fields[k]
		switch k {
		case "service":
			h.Service = v
		case "image":
			named, err := reference.ParseNormalizedNamed(v)
			if err != nil {
				return h, fmt.Errorf("--hook %q: image %q is not an image repository: %w", s, v, err)
			}
			if _, tagged := named.(reference.Tagged); tagged {
				return h, fmt.Errorf("--hook %q: image %q names a tag; give the repository alone and the tags to react to with tags=GLOB", s, v)
			}
			if _, digested := named.(reference.Digested); digested {
				return h, fmt.Errorf("--hook %q: image %q names a digest; give the repository alone", s, v)
			}
			h.Repo = named
		case "tags":
			if h.Tags, err = globs(v); err != nil {
				return h, fmt.Errorf("--hook %q: tags: %w", s, err)
			}
		case "workflow":
			if _, err := path.Match(v, ""); err != nil {
				return h, fmt.Errorf("--hook %q: workflow %q is not a glob: %w", s, v, err)
			}
			h.Workflow = v
		case "workflow_path":
			if strings.Contains(v, "..") || !strings.HasPrefix(v, ".github/workflows/") {
				return h, fmt.Errorf("--hook %q: workflow_path=%s: want the workflow's file in its repository, e.g. .github/workflows/release.yml", s, v)
			}
			h.WorkflowPath = v
		case "repo":
			owner, name, ok := strings.Cut(v, "/")
			if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
				return h, fmt.Errorf("--hook %q: repo=%s: want the GitHub repository as owner/name", s, v)
			}
			h.GitHubRepo = v
		case "branches":
			if h.Branches, err = globs(v); err != nil {
				return h, fmt.Errorf("--hook %q: branches: %w", s, err)
			}
		case "tag":
			h.Tag = v
		case "ref":
			switch v {
			case "tag":
			case "digest":
				h.ByDigest = true
			default:
				return h, fmt.Errorf("--hook %q: ref=%s: want tag or digest", s, v)
			}
		case "pull":
			if h.Pull, err = engine.ParsePullPolicy(v); err != nil {
				return h, fmt.Errorf("--hook %q: %w", s, err)
			}
		case "drain":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return h, fmt.Errorf("--hook %q: drain=%s is not a duration such as 30s", s, v)
			}
			h.Drain = &d
		default:
			return h, fmt.Errorf("--hook %q: unknown key %q (want service, image, tags, repo, workflow, workflow_path, branches, tag, ref, pull, drain)", s, k)
		}
	}
	switch {
	case h.Service == "":
		return h, fmt.Errorf("--hook %q: service= is required", s)
	case h.Repo == nil:
		return h, fmt.Errorf("--hook %q: image= is required (the repository, e.g. registry.example.com/acme/app)", s)
	}
	if h.forRuns() && h.GitHubRepo == "" {
		return h, fmt.Errorf("--hook %q: a workflow hook needs repo=OWNER/NAME, the repository whose runs deploy; a webhook on an organisation receives every repository's runs", s)
	}
	if _, err := reference.WithTag(h.Repo, h.expand("0000000", "main")); err != nil && h.forRuns() {
		return h, fmt.Errorf("--hook %q: tag=%s does not make a valid tag: %w", s, h.Tag, err)
	}
	return h, nil
}

// keyValues splits "k=v,k=v"; a key may appear once.
func keyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q is not key=value", part)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// globs splits "v*|latest" into patterns and checks each.
func globs(v string) ([]string, error) {
	var out []string
	for _, g := range strings.Split(v, "|") {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			return nil, fmt.Errorf("%q is not a glob such as v* (alternatives separated by |)", g)
		}
		out = append(out, g)
	}
	return out, nil
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// String renders the hook as it would be given.
func (h Hook) String() string {
	s := fmt.Sprintf("service=%s,image=%s", h.Service, reference.FamiliarString(h.Repo))
	if h.GitHubRepo != "" {
		s += ",repo=" + h.GitHubRepo
	}
	if h.forRuns() {
		if h.Workflow != "" {
			s += ",workflow=" + h.Workflow
		}
		if h.WorkflowPath != "" {
			s += ",workflow_path=" + h.WorkflowPath
		}
		return s + fmt.Sprintf(",branches=%s,tag=%s", strings.Join(h.Branches, "|"), h.Tag)
	}
	return s + ",tags=" + strings.Join(h.Tags, "|")
}

// forRuns says whether the hook reacts to workflow runs (not pushes).
func (h Hook) forRuns() bool { return h.Workflow != "" || h.WorkflowPath != "" }

// push is an image that was pushed: a repository, its new tag and the
// manifest digest.
type push struct {
	Repo   reference.Named
	Tag    string
	Digest string
}

// matchesPush says whether a push of repo:tag concerns this hook. The
// registry host counts when both sides name one, so that the same path in
// two registries is told apart.
func (h Hook) matchesPush(p push) bool {
	if h.forRuns() || p.Tag == "" {
		return false
	}
	if reference.Path(h.Repo) != reference.Path(p.Repo) {
		return false
	}
	if reference.Domain(h.Repo) != reference.Domain(p.Repo) {
		return false
	}
	return matchAny(h.Tags, p.Tag)
}

// imageFor is what a matching push deploys: the hook's repository (as the
// Engine pulls it) with the pushed tag, or its digest. A digest that is
// not one (an event can say anything) is not used.
func (h Hook) imageFor(p push) string {
	if _, err := digest.Parse(p.Digest); h.ByDigest && err == nil {
		return reference.FamiliarString(h.Repo) + "@" + p.Digest
	}
	return reference.FamiliarString(h.Repo) + ":" + p.Tag
}

// expand fills the workflow tag template.
func (h Hook) expand(sha, branch string) string {
	short := sha
	if len(short) > 7 {
		short = short[:7]
	}
	r := strings.NewReplacer("{sha}", sha, "{short_sha}", short, "{branch}", strings.ReplaceAll(branch, "/", "-"))
	return r.Replace(h.Tag)
}

// trigger is one swap a webhook asks for.
type trigger struct {
	Hook  Hook
	Image string
}

// pushTriggers returns, per service, the swap for the last matching push.
func pushTriggers(hooks []Hook, pushes []push) []trigger {
	var out []trigger
	index := map[string]int{}
	for _, p := range pushes {
		for _, h := range hooks {
			if !h.matchesPush(p) {
				continue
			}
			t := trigger{Hook: h, Image: h.imageFor(p)}
			if i, ok := index[h.Service]; ok {
				out[i] = t // a later push in the same delivery wins
				continue
			}
			index[h.Service] = len(out)
			out = append(out, t)
		}
	}
	return out
}
