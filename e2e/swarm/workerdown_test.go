package swarm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

// fastDial is a servers transport, in a file of its own in Traefik's file
// provider directory beside dswap's routes, that gives up dialing a
// server after a second instead of Traefik's 30 s, and waiting for the
// answer to a request already sent after 2 s instead of never: a request
// on a kept-alive connection to a task whose node vanished without
// closing it gets no answer and no reset. The test app answers at once.
const fastDial = `http:
  serversTransports:
    fastdial:
      forwardingTimeouts:
        dialTimeout: 1s
        responseHeaderTimeout: 2s
`

// TestSwarmWorkerDownWithTraefikHealthCheck stops a worker's Engine under
// load, as TestSwarmOnThreeNodes does, for a service whose labels give
// Traefik an active health check (every 500 ms) and a servers transport
// that dials for at most 1 s. Traefik takes the dead node's server out of
// rotation after one failed check, long before Swarm declares the node
// down (its heartbeat period) and the keeper's route follows. So far
// fewer requests fail or hang than without them (docs/swarm.md has both).
func TestSwarmWorkerDownWithTraefikHealthCheck(t *testing.T) {
	s := startSwarm(t, lab.SwarmOptions{Nodes: 3})
	bin := dswapBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v1, _ := buildVersions(ctx, t, s)
	require.NoError(t, os.WriteFile(filepath.Join(s.RoutesDir, "lab-transports.yml"), []byte(fastDial), 0o644))
	name := "web" + randomHex(2)
	lb := fmt.Sprintf("traefik.http.services.%s.loadbalancer.", name)
	app := createServiceNamed(t, s, name, v1, 3,
		"--label", lb+"healthcheck.path=/healthz",
		"--label", lb+"healthcheck.interval=500ms",
		"--label", lb+"healthcheck.timeout=400ms",
		"--label", lb+"serverstransport=fastdial@file",
	)
	require.Zero(t, runDswap(t, bin, s, "sync", app.name).code)
	startKeeper(t, bin, s)

	down := stopWorkerUnderLoad(t, s, app)
	// Without the health check, 8 requests hang for Traefik's 30 s dial
	// timeout each time, holding the clients (docs/swarm.md). With it, only
	// the requests sent before Traefik's first failed check after the node
	// went (within one interval plus one timeout, 0.9 s) can fail, and
	// none waits more than the transport's timeouts (1 s to dial, 2 s for
	// an answer). How many fail depends on the request rate; how long they
	// go on does not.
	spans := failureSpans(down.failures, down.at)
	assert.Zero(t, down.hung, "with a 1 s dial timeout and a 2 s response header timeout no request hangs; failures by start, from the stop: %s", spans)
	if len(down.failures) > 0 {
		first, last := down.failures[0].Start, down.failures[0].Start
		for _, r := range down.failures {
			first, last = minTime(first, r.Start), maxTime(last, r.Start)
		}
		assert.Less(t, last.Sub(first), 3*time.Second, "failed requests went on for %s (%d of %d): Traefik kept sending to the dead node; failures by start, from the stop: %s", last.Sub(first), down.failed, down.total, spans)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
