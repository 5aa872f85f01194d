// Package swap replaces the running container(s) of a service with new ones
// without dropping a request: start the new container beside the old, wait
// until it is healthy, move Traefik's route to it and confirm Traefik
// applied it, then stop the old one with a drain window.
//
// The swap is a sequence of explicit phases. Every transition is logged and
// recorded; side effects go through the small interfaces in deps.go so the
// decisions can be tested without a daemon.
package swap

import "time"

// Phase is one step of a swap.
type Phase int

const (
	PhasePlan     Phase = iota // resolve the service, settings, image and routing; no side effects
	PhaseCreate                // create the new container(s)
	PhaseHealth                // start them and wait until they are healthy
	PhaseFlip                  // write the route and wait until Traefik shows it
	PhaseMonitor               // watch the new container(s); the old ones stand by
	PhaseDrain                 // stop the old container(s) with the drain window
	PhaseRemove                // remove the old container(s)
	PhaseDone                  // traffic is on the new version and the old is gone
	PhaseRollback              // undoing a swap that failed before traffic moved
	PhaseFailed                // the swap failed; see the error
	PhasePre                   // run the release tasks that come before any new container serves
	PhasePost                  // run the release tasks that come after the flip
	PhaseCanary                // part of the traffic on the new version, judged on Traefik's metrics
)

var phaseNames = [...]string{"plan", "create", "health", "flip", "monitor", "drain", "remove", "done", "rollback", "failed", "pre", "post", "canary"}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return "unknown"
	}
	return phaseNames[p]
}

// Step is one recorded phase transition.
type Step struct {
	Phase Phase
	At    time.Time
	// Note says what happened on entering the phase.
	Note string
}
