package traefik

import (
	"fmt"
	"strconv"
	"strings"
)

// generationHeader is the request header of a route file's generation
// marker middleware (labels.GenerationHeader; repeated here so that this
// package, which reads Traefik, does not depend on the one that writes).
const generationHeader = "X-Dswap-Generation"

// MiddlewareStatus is one middleware as Traefik runs it. dswap reads only
// the headers middleware that marks a route file's generation.
type MiddlewareStatus struct {
	Headers *struct {
		CustomRequestHeaders map[string]string `json:"customRequestHeaders"`
	} `json:"headers"`
	Status string `json:"status"`
}

// Generation returns the generation that Traefik's running configuration
// holds for a route file's marker middleware (name without @file); ok is
// false when Traefik has no such middleware.
func (rt *Runtime) Generation(marker string) (gen int64, ok bool) {
	mw, found := rt.Middlewares[marker+"@file"]
	if !found || mw.Headers == nil {
		return 0, false
	}
	for k, v := range mw.Headers.CustomRequestHeaders {
		if strings.EqualFold(k, generationHeader) {
			g, err := strconv.ParseInt(v, 10, 64)
			return g, err == nil
		}
	}
	return 0, false
}

// checkGeneration says whether Traefik runs the configuration built from
// this write of the route file. Generations of one file only grow (each
// write's is greater than the one it replaced), so a smaller one is an
// earlier write still shown, and a greater one a later write that replaced
// this one: waiting longer cannot help then.
func (exp Expectation) checkGeneration(rt *Runtime) (mismatch string, ours bool, fatal error) {
	got, present := rt.Generation(exp.Marker)
	switch {
	case exp.Generation == 0 && present:
		return fmt.Sprintf("Traefik still runs generation %d of the removed file (middleware %s@file)", got, exp.Marker), false, nil
	case exp.Generation == 0:
		return "", true, nil
	case !present:
		return fmt.Sprintf("Traefik has not applied this write (generation %d) yet: it shows no generation of the file (middleware %s@file)", exp.Generation, exp.Marker), false, nil
	case got < exp.Generation:
		return fmt.Sprintf("Traefik has not applied this write (generation %d) yet: it still runs generation %d of the file", exp.Generation, got), false, nil
	case got > exp.Generation:
		return "", false, fmt.Errorf("Traefik runs generation %d of the file, written after this write (generation %d): another writer changed the route file; dswap's lock keeps swaps, syncs and the keeper apart, so look for a tool or person editing it", got, exp.Generation)
	}
	return "", true, nil
}
