package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/distribution/reference"
)

// maxHookBody bounds webhook bodies. A registry envelope holds a few
// events; GitHub's package payloads are a few kilobytes.
const maxHookBody = 5 << 20

// registryEnvelope is a CNCF distribution notification
// (application/vnd.docker.distribution.events.v1+json), reduced to what
// dswap reads.
type registryEnvelope struct {
	Events []registryEvent `json:"events"`
}

type registryEvent struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// hookAnswer is the answer to a webhook: the swaps it started.
type hookAnswer struct {
	Swaps   []accepted `json:"swaps"`
	Ignored string     `json:"ignored,omitempty"`
}

// registryHook takes a registry's push notifications. A registry cannot
// sign its notifications, so the endpoint wants the registry token as a
// bearer header (distribution's notifications.endpoints[].headers can set
// it) or, for registries that cannot send headers, as ?token=.
func (s *Server) registryHook(w http.ResponseWriter, req *http.Request) {
	presented, ok := bearer(req)
	if !ok {
		presented = req.URL.Query().Get("token")
		// A token in a URL ends up in the registry's configuration and
		// logs. That is acceptable for a token that can do nothing but
		// announce pushes, not for the API token, which can swap and
		// roll back anything: the query form wants a registry token of
		// its own.
		if presented != "" && s.opts.RegistryToken == s.opts.Token {
			writeError(w, http.StatusUnauthorized, "?token= is refused while registry notifications share the API token: give them their own with --registry-token-file (or DSWAP_REGISTRY_TOKEN), or send Authorization: Bearer <token>")
			return
		}
	}
	if !tokensMatch(presented, s.opts.RegistryToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dswap"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong token: configure the registry to send Authorization: Bearer <token> (or ?token=<token>)")
		return
	}
	body, err := s.readBody(w, req, maxHookBody)
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the notification: "+err.Error())
		return
	}
	var env registryEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		writeError(w, http.StatusBadRequest, "the body is not a registry notification envelope: "+err.Error())
		return
	}
	all, ids, err := registryPushes(env)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var pushes []push
	var reserved []string
	for i, p := range all {
		if s.hooksState.reserve(ids[i]) {
			pushes = append(pushes, p)
			reserved = append(reserved, ids[i])
		}
	}
	if len(all) > 0 && len(pushes) == 0 {
		writeJSON(w, http.StatusOK, hookAnswer{Swaps: []accepted{}, Ignored: "events seen before"})
		return
	}
	if s.startTriggers(w, "registry", pushTriggers(s.hooks, pushes)) {
		s.hooksState.commit(reserved, nil)
	} else {
		s.hooksState.release(reserved)
	}
}

// registryPushes picks the tag pushes out of an envelope, with the key
// each is remembered by: manifest pushes by digest alone (the platform
// manifests of a multi-platform image) and blob pushes carry no tag and
// deploy nothing.
func registryPushes(env registryEnvelope) ([]push, []string, error) {
	var out []push
	var ids []string
	for _, ev := range env.Events {
		if ev.Action != "push" || ev.Target.Tag == "" || ev.Target.Repository == "" {
			continue
		}
		name := ev.Target.Repository
		if ev.Request.Host != "" {
			name = ev.Request.Host + "/" + name
		}
		repo, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return nil, nil, fmt.Errorf("event %s: repository %q: %w", ev.ID, name, err)
		}
		out = append(out, push{Repo: repo, Tag: ev.Target.Tag, Digest: ev.Target.Digest})
		ids = append(ids, "registry/"+ev.ID)
	}
	return out, ids, nil
}

// startTriggers starts the swaps webhooks asked for and answers 202 with
// them (200 when nothing matched, so the sender does not retry). It
// reports false when it answered 503 because a swap could not start: the
// event is then not seen, and the sender's retry is taken.
func (s *Server) startTriggers(w http.ResponseWriter, source string, triggers []trigger) bool {
	ans := hookAnswer{Swaps: []accepted{}}
	if len(triggers) == 0 {
		ans.Ignored = "no --hook matches"
		writeJSON(w, http.StatusOK, ans)
		return true
	}
	for _, t := range triggers {
		spec := runSpec{kind: "swap", service: t.Hook.Service, image: t.Image, pull: t.Hook.Pull, trigger: source}
		spec.overrides.Drain = t.Hook.Drain
		r, err := s.start(spec)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return false
		}
		s.log.Info("webhook triggered a swap", "source", source, "hook", t.Hook.String(), "image", t.Image, "swap", r.ID)
		ans.Swaps = append(ans.Swaps, acceptedOf(r))
	}
	writeJSON(w, http.StatusAccepted, ans)
	return true
}
