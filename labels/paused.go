package labels

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A paused canary (dswap up --canary ... --pause) is a weighted route file
// with one more header line, written with the last step's weights:
//
//	# dswap-canary: paused weights=10,50 sticky=false
//
// The line is what tells a paused canary, which the keeper and later
// swaps must leave alone, from a canary whose dswap was killed during a
// step, which is undone (see StableHosts). It lives in the route file
// because that is where the weights live, and it survives dswap's exit
// and Traefik's restarts with them. weights are the steps the user asked
// for, so that promote goes on with the ones after the current weight.

const pausedPrefix = "# dswap-canary: paused"

// PausedCanary is what a paused canary's route file records.
type PausedCanary struct {
	// Weight is the canary children's weight now, in percent.
	Weight int
	// Weights are the steps the canary was started with.
	Weights []int
	// Sticky says whether the file pins clients with cookies.
	Sticky bool
}

// MarkPaused returns a weighted route file with the paused line added
// after its header comments.
func MarkPaused(content []byte, weights []int, sticky bool) []byte {
	ws := make([]string, len(weights))
	for i, w := range weights {
		ws[i] = strconv.Itoa(w)
	}
	line := fmt.Sprintf("%s weights=%s sticky=%t\n", pausedPrefix, strings.Join(ws, ","), sticky)
	text := string(content)
	at := 0
	for strings.HasPrefix(text[at:], "#") {
		nl := strings.IndexByte(text[at:], '\n')
		if nl < 0 {
			break
		}
		at += nl + 1
	}
	return []byte(text[:at] + line + text[at:])
}

// ReadPaused returns the paused canary a route file records; ok is false
// for any other file (a plain route, or a canary in the middle of a step).
func ReadPaused(content []byte) (pc PausedCanary, ok bool) {
	var fields string
	for _, line := range strings.SplitN(string(content), "\n", 10) {
		if rest, found := strings.CutPrefix(line, pausedPrefix); found {
			fields, ok = rest, true
			break
		}
	}
	if !ok {
		return pc, false
	}
	for _, f := range strings.Fields(fields) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "weights":
			for _, w := range strings.Split(v, ",") {
				if n, err := strconv.Atoi(w); err == nil {
					pc.Weights = append(pc.Weights, n)
				}
			}
		case "sticky":
			pc.Sticky = v == "true"
		}
	}
	pc.Weight, ok = canaryWeight(content)
	return pc, ok
}

// canaryWeight reads the weight of the canary children of a weighted file
// (the same for every service of the file).
func canaryWeight(content []byte) (int, bool) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(unescapeTemplate(string(content))), &doc); err != nil {
		return 0, false
	}
	for _, v := range child(child(doc, "http"), "services") {
		svc, _ := v.(map[string]any)
		for _, m := range childList(child(svc, "weighted"), "services") {
			name, _ := m["name"].(string)
			if !strings.HasSuffix(name, "-canary") {
				continue
			}
			switch w := m["weight"].(type) {
			case int:
				return w, true
			case float64:
				return int(w), true
			}
		}
	}
	return 0, false
}

// CanaryWeight is the weight of the canary children of a route file, and
// false when the file routes to one version only (no weighted service).
func CanaryWeight(content []byte) (int, bool) { return canaryWeight(content) }
