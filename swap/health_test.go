package swap

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dswap-dev/dswap/engine"
)

func TestProbeTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  time.Duration
		want time.Duration
	}{
		{"unset: Docker's 30 s default, capped", 0, 5 * time.Second},
		{"short: raised to cover the exec itself", 200 * time.Millisecond, time.Second},
		{"in range", 3 * time.Second, 3 * time.Second},
		{"long: capped", time.Minute, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, probeTimeout(&engine.Healthcheck{Timeout: tc.set}))
		})
	}
}

// execTimeouts records the deadline each probe run was given.
type execTimeouts struct {
	fakeDocker
	mu   sync.Mutex
	seen []time.Duration
}

func (e *execTimeouts) Exec(ctx context.Context, _ string, _ []string) (engine.ExecResult, error) {
	deadline, _ := ctx.Deadline()
	e.mu.Lock()
	e.seen = append(e.seen, time.Until(deadline).Round(time.Second))
	e.mu.Unlock()
	return engine.ExecResult{ExitCode: 1, Output: "not yet"}, nil
}

// The prober of the start window and that of the monitor window are one:
// a test whose timeout is shorter than an exec can take gets the same
// deadline in both.
func TestProbeGivesEachRunTheSameDeadlineWhenStartingAndMonitoring(t *testing.T) {
	w := newWorld()
	docker := &execTimeouts{fakeDocker: fakeDocker{w}}
	s := w.swapper()
	s.Docker = docker
	s.cfg.ProbeInterval, s.cfg.Monitor = time.Millisecond, time.Minute
	c := ctr("web-2", "myapp:v2")
	c.Healthcheck = &engine.Healthcheck{Test: []string{"CMD", "/app", "health"}, Timeout: 100 * time.Millisecond, Retries: 2}

	runs := 0
	s.probe(context.Background(), c, probeCommand(c.Healthcheck), time.Millisecond, true, func(bool, string) bool {
		runs++
		return runs == 2
	})
	failing := make(chan error, 1)
	s.watchHealth(context.Background(), c, probeCommand(c.Healthcheck), failing)

	assert.Equal(t, []time.Duration{time.Second, time.Second, time.Second, time.Second}, docker.seen)
	assert.ErrorContains(t, <-failing, "new container web-2 failed its HEALTHCHECK test 2 times in a row within the --monitor window of 1m0s: not yet")
}
