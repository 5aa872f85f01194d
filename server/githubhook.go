package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/distribution/reference"
)

// githubPackage is the package of a GitHub "package" or
// "registry_package" event, reduced to what dswap reads.
type githubPackage struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	PackageType string `json:"package_type"`
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion struct {
		Version           string `json:"version"`
		PackageURL        string `json:"package_url"`
		ContainerMetadata struct {
			Tag struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"tag"`
		} `json:"container_metadata"`
	} `json:"package_version"`
}

type githubEvent struct {
	Action          string         `json:"action"`
	Package         *githubPackage `json:"package"`
	RegistryPackage *githubPackage `json:"registry_package"`
	WorkflowRun     *struct {
		Name       string `json:"name"`
		HeadBranch string `json:"head_branch"`
		HeadSHA    string `json:"head_sha"`
		Conclusion string `json:"conclusion"`
	} `json:"workflow_run"`
}

// githubHook takes GitHub webhook deliveries: "package" and
// "registry_package" events for a published container image, and
// "workflow_run" events of a run that completed successfully. GitHub signs
// each delivery with the webhook secret (X-Hub-Signature-256); a delivery
// without a valid signature is refused before its body is read as JSON.
func (s *Server) githubHook(w http.ResponseWriter, req *http.Request) {
	if s.opts.GitHubSecret == "" {
		writeError(w, http.StatusNotFound, "GitHub webhooks are off: start dswap serve with --github-secret-file (or DSWAP_GITHUB_SECRET)")
		return
	}
	// A delivery without a well-formed signature is refused before its
	// body is read: an unauthenticated sender gets no time and no memory.
	signature := req.Header.Get("X-Hub-Signature-256")
	if !wellFormedGitHubSignature(signature) {
		writeError(w, http.StatusUnauthorized, "missing or malformed X-Hub-Signature-256: the webhook must have a secret, the sidecar's --github-secret-file")
		return
	}
	body, err := s.readBody(w, req, maxHookBody)
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the delivery: "+err.Error())
		return
	}
	if !validGitHubSignature([]byte(s.opts.GitHubSecret), body, signature) {
		writeError(w, http.StatusUnauthorized, "missing or wrong X-Hub-Signature-256: the webhook's secret must be the sidecar's --github-secret-file")
		return
	}
	kind := req.Header.Get("X-GitHub-Event")
	if kind == "ping" {
		writeJSON(w, http.StatusOK, map[string]bool{"pong": true})
		return
	}
	if !s.seen.first("github/" + req.Header.Get("X-GitHub-Delivery")) {
		writeJSON(w, http.StatusOK, hookAnswer{Swaps: []accepted{}, Ignored: "delivery seen before"})
		return
	}
	var ev githubEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		writeError(w, http.StatusBadRequest, "the delivery is not a GitHub event: "+err.Error())
		return
	}
	triggers, err := githubTriggers(s.hooks, kind, ev)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.startTriggers(w, "github", triggers)
}

// githubTriggers maps one event to the swaps it asks for.
func githubTriggers(hooks []Hook, kind string, ev githubEvent) ([]trigger, error) {
	switch kind {
	case "package", "registry_package":
		pkg := ev.Package
		if pkg == nil {
			pkg = ev.RegistryPackage
		}
		if pkg == nil || (ev.Action != "published" && ev.Action != "updated") || !strings.EqualFold(pkg.PackageType, "container") {
			return nil, nil
		}
		p, err := githubPush(pkg)
		if err != nil || p.Tag == "" {
			return nil, err
		}
		return pushTriggers(hooks, []push{p}), nil
	case "workflow_run":
		run := ev.WorkflowRun
		if run == nil || ev.Action != "completed" || run.Conclusion != "success" {
			return nil, nil
		}
		var out []trigger
		seen := map[string]bool{}
		for _, h := range hooks {
			if h.Workflow == "" || seen[h.Service] {
				continue
			}
			if ok := matchAny([]string{h.Workflow}, run.Name); !ok || !matchAny(h.Branches, run.HeadBranch) {
				continue
			}
			seen[h.Service] = true
			out = append(out, trigger{Hook: h, Image: reference.FamiliarString(h.Repo) + ":" + h.expand(run.HeadSHA, run.HeadBranch)})
		}
		return out, nil
	}
	return nil, nil
}

// githubPush reads the image a package event published: from its
// package_url (ghcr.io/OWNER/NAME:TAG) when there is one, else from the
// owner and name on ghcr.io.
func githubPush(pkg *githubPackage) (push, error) {
	v := pkg.PackageVersion
	tag := v.ContainerMetadata.Tag.Name
	digest := v.ContainerMetadata.Tag.Digest
	if digest == "" && strings.HasPrefix(v.Version, "sha256:") {
		digest = v.Version
	}
	name := v.PackageURL
	if name == "" {
		owner := pkg.Namespace
		if owner == "" {
			owner = pkg.Owner.Login
		}
		name = "ghcr.io/" + strings.ToLower(owner) + "/" + pkg.Name
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return push{}, fmt.Errorf("package %s: image %q: %w", pkg.Name, name, err)
	}
	if t, ok := named.(reference.Tagged); ok && tag == "" {
		tag = t.Tag()
	}
	return push{Repo: reference.TrimNamed(named), Tag: tag, Digest: digest}, nil
}
