package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// githubPackage is the package of a GitHub "package" or
// "registry_package" event, reduced to what dswap reads.
type githubPackage struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	PackageType string `json:"package_type"`
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion struct {
		ID                int64  `json:"id"`
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

type githubRepository struct {
	FullName string `json:"full_name"`
}

type githubWorkflowRun struct {
	ID             int64            `json:"id"`
	RunAttempt     int              `json:"run_attempt"`
	RunNumber      int              `json:"run_number"`
	Name           string           `json:"name"`
	Path           string           `json:"path"`
	Event          string           `json:"event"`
	HeadBranch     string           `json:"head_branch"`
	HeadSHA        string           `json:"head_sha"`
	Conclusion     string           `json:"conclusion"`
	CreatedAt      time.Time        `json:"created_at"`
	HeadRepository githubRepository `json:"head_repository"`
}

type githubEvent struct {
	Action          string             `json:"action"`
	Repository      githubRepository   `json:"repository"`
	Package         *githubPackage     `json:"package"`
	RegistryPackage *githubPackage     `json:"registry_package"`
	WorkflowRun     *githubWorkflowRun `json:"workflow_run"`
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
	var ev githubEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		writeError(w, http.StatusBadRequest, "the delivery is not a GitHub event: "+err.Error())
		return
	}
	// Deliveries are told apart by what the signature covers, the event
	// itself, not by X-GitHub-Delivery, which anyone who captured a
	// signed body could change.
	key := githubIdentity(kind, ev, body)
	if !s.hooksState.reserve(key) {
		writeJSON(w, http.StatusOK, hookAnswer{Swaps: []accepted{}, Ignored: "event seen before"})
		return
	}
	triggers, err := githubTriggers(s.hooks, kind, ev)
	if err != nil {
		s.hooksState.release([]string{key})
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var marks map[string]runMark
	if kind == "workflow_run" && len(triggers) > 0 {
		mark := runMarkOf(ev.WorkflowRun)
		marks = map[string]runMark{}
		var newer []trigger
		for _, t := range triggers {
			if !s.hooksState.newer(t.Hook.Service, mark) {
				s.log.Info("webhook ignored: the workflow run is older than the one the service last got", "service", t.Hook.Service, "run", mark.ID, "attempt", mark.Attempt)
				continue
			}
			newer = append(newer, t)
			marks[t.Hook.Service] = mark
		}
		if len(newer) == 0 {
			s.hooksState.commit([]string{key}, nil)
			writeJSON(w, http.StatusOK, hookAnswer{Swaps: []accepted{}, Ignored: "the workflow run is older than what its services last got"})
			return
		}
		triggers = newer
	}
	if s.startTriggers(w, "github", triggers) {
		s.hooksState.commit([]string{key}, marks)
	} else {
		s.hooksState.release([]string{key})
	}
}

// githubIdentity is the signed identity of an event: the workflow run and
// its attempt, or the package version and tag. An event without one is
// known by its body's hash, so that the very same body is still taken
// once.
func githubIdentity(kind string, ev githubEvent, body []byte) string {
	switch {
	case kind == "workflow_run" && ev.WorkflowRun != nil && ev.WorkflowRun.ID != 0:
		return fmt.Sprintf("github/run/%d/%d", ev.WorkflowRun.ID, ev.WorkflowRun.RunAttempt)
	case kind == "package" || kind == "registry_package":
		pkg := ev.Package
		if pkg == nil {
			pkg = ev.RegistryPackage
		}
		if pkg != nil && pkg.PackageVersion.ID != 0 {
			v := pkg.PackageVersion
			return fmt.Sprintf("github/package/%d/%s/%s", v.ID, v.ContainerMetadata.Tag.Name, v.ContainerMetadata.Tag.Digest)
		}
	}
	sum := sha256.Sum256(body)
	return "github/body/" + hex.EncodeToString(sum[:])
}

func runMarkOf(run *githubWorkflowRun) runMark {
	return runMark{ID: run.ID, Attempt: run.RunAttempt, Number: run.RunNumber, Created: run.CreatedAt}
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
		var fromRepo []Hook
		for _, h := range hooks {
			if h.GitHubRepo == "" || strings.EqualFold(h.GitHubRepo, ev.Repository.FullName) {
				fromRepo = append(fromRepo, h)
			}
		}
		return pushTriggers(fromRepo, []push{p}), nil
	case "workflow_run":
		run := ev.WorkflowRun
		if run == nil || ev.Action != "completed" || run.Conclusion != "success" {
			return nil, nil
		}
		// A run of a fork's code (a pull request from another
		// repository) deploys nothing, whatever its branch is called.
		if run.HeadRepository.FullName != "" && !strings.EqualFold(run.HeadRepository.FullName, ev.Repository.FullName) {
			return nil, nil
		}
		var out []trigger
		seen := map[string]bool{}
		for _, h := range hooks {
			if !h.forRuns() || seen[h.Service] || !h.matchesRun(ev.Repository.FullName, run) {
				continue
			}
			seen[h.Service] = true
			out = append(out, trigger{Hook: h, Image: reference.FamiliarString(h.Repo) + ":" + h.expand(run.HeadSHA, run.HeadBranch)})
		}
		return out, nil
	}
	return nil, nil
}

// matchesRun says whether a successful run concerns a workflow hook: its
// repository, its workflow (name glob and file), its branch.
func (h Hook) matchesRun(repo string, run *githubWorkflowRun) bool {
	if !strings.EqualFold(h.GitHubRepo, repo) {
		return false
	}
	if h.Workflow != "" && !matchAny([]string{h.Workflow}, run.Name) {
		return false
	}
	if h.WorkflowPath != "" && h.WorkflowPath != run.Path {
		return false
	}
	return matchAny(h.Branches, run.HeadBranch)
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
