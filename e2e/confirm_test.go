package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// labAPI is a client for the lab Traefik's API.
func labAPI(t *testing.T) *traefik.API {
	t.Helper()
	api, err := traefik.NewAPI(suite.lab.APIURL)
	require.NoError(t, err)
	return api
}

// pacer is a file of the test's own in the routes directory, holding one
// unused middleware whose header value the test changes. Each change is a
// reload of the file provider; seeing one applied tells the test when
// Traefik's reload throttle started, which nothing else reports. It also
// keeps the directory from ever being empty, which Traefik would skip.
type pacer struct {
	path, name string
	n          int
}

func newPacer(t *testing.T) *pacer {
	t.Helper()
	p := &pacer{name: "pacer-" + randomHex(3)}
	p.path = filepath.Join(suite.lab.RoutesDir, p.name+".yml")
	t.Cleanup(func() { _ = os.Remove(p.path) })
	return p
}

// step rewrites the pacer file (renamed in, as dswap writes) and waits
// until Traefik's API shows it; it returns when it saw it.
func (p *pacer) step(t *testing.T) time.Time {
	t.Helper()
	p.n++
	content := fmt.Sprintf("http:\n  middlewares:\n    %s:\n      headers:\n        customRequestHeaders:\n          X-Pacer: \"%d\"\n", p.name, p.n)
	tmp := filepath.Join(suite.lab.RoutesDir, ".dswap", p.name+".tmp")
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, p.path))
	api := labAPI(t)
	var seen time.Time
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		rt, err := api.Runtime(ctx)
		if err != nil {
			return false
		}
		mw := rt.Middlewares[p.name+"@file"]
		if mw.Headers != nil && mw.Headers.CustomRequestHeaders["X-Pacer"] == fmt.Sprint(p.n) {
			seen = time.Now()
			return true
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "Traefik never showed pacer step %d", p.n)
	return seen
}

// TestSyncInsideTheThrottleWindowWaitsForItsOwnWrite reproduces issue 17:
// a change of the routes directory waits in Traefik's reload throttle (the
// route file removed), and `dswap sync` writes the same route again inside
// that window. Traefik's API still shows the route from before, with the
// very servers dswap wants, so a check of the servers alone confirms at
// once, while Traefik has not yet loaded anything dswap wrote. dswap must
// wait until Traefik shows this write, which is only after the throttle
// window, and no request may fail after it said so.
func TestSyncInsideTheThrottleWindowWaitsForItsOwnWrite(t *testing.T) {
	svc := startService(t, "gen", serviceOpts{})
	p := newPacer(t)
	ld := svc.load(t, 4, "")
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ld.WaitVersion(waitCtx, "v1"))

	// Two pacer steps: the second is applied when the throttle window of
	// the first ends, so right after it is seen the next window has just
	// begun and lasts about 2 s from then. On a busy machine dswap may
	// take longer than the window to start and write; that attempt proves
	// nothing, so it is tried again (at most three times).
	var windowStart, exited time.Time
	var took float64
	seen := watchGenerations(t, labels.GenerationMarker(serviceKey("", svc.name)))
	for attempt := 1; ; attempt++ {
		p.step(t)
		windowStart = p.step(t)
		routeFile := filepath.Join(suite.lab.RoutesDir, routeFileName("", svc.name))
		require.NoError(t, os.Remove(routeFile))
		run := runDswap(t, "sync", svc.name, "--output", "json")
		exited = time.Now()
		require.Equal(t, 0, run.code, "dswap sync:\n%s%s", run.stdout, run.stderr)
		var out struct {
			Services []struct {
				TookSeconds float64 `json:"took_seconds"`
			} `json:"services"`
		}
		require.NoError(t, json.Unmarshal([]byte(lastLine(run.stdout)), &out))
		require.Len(t, out.Services, 1)
		took = out.Services[0].TookSeconds
		// The write came before the confirmation began.
		writtenBy := exited.Add(-time.Duration(took * float64(time.Second)))
		t.Logf("attempt %d: window began %s; dswap wrote by +%.2fs, reported confirmation after %.2fs, exited +%.2fs",
			attempt, windowStart.Format("15:04:05.000"), writtenBy.Sub(windowStart).Seconds(), took, exited.Sub(windowStart).Seconds())
		if writtenBy.Sub(windowStart) < 1500*time.Millisecond {
			break
		}
		require.Less(t, attempt, 3, "dswap never wrote inside the throttle window; the machine is too busy for this test")
	}

	// dswap may not report the route applied before Traefik shows its
	// write. Traefik applies what waited in the throttle at the end of the
	// window (about 2 s after it began; the test sees the window's start a
	// little late, as it polls), so a confirmation right away is wrong.
	assert.Greater(t, took, 0.3, "dswap reported the route applied almost at once, from the configuration before its write")
	gen := labels.GenerationOf([]byte(svc.routeFile(t)))
	require.NotZero(t, gen, "the route file records its generation")
	shown, ok := seen(int64(gen))
	require.True(t, ok, "Traefik showed generation %d of the route file", gen)
	t.Logf("Traefik showed dswap's write at +%.2fs; dswap exited at +%.2fs", shown.Sub(windowStart).Seconds(), exited.Sub(windowStart).Seconds())
	// The test's poller may see the write a poll later than dswap did.
	assert.False(t, exited.Before(shown.Add(-100*time.Millisecond)), "dswap exited before Traefik showed its write")

	// Keep the load on past the end of the window, then check that no
	// request sent after dswap said the route was applied failed.
	after := exited.Add(2500 * time.Millisecond)
	require.Eventually(t, func() bool { return time.Now().After(after) }, 5*time.Second, 20*time.Millisecond)
	rep := ld.Stop()
	t.Logf("load: %s", rep.Summary())
	var failedAfter []string
	for _, r := range rep.Failures() {
		if r.Start.After(exited) {
			failedAfter = append(failedAfter, fmt.Sprintf("%s status=%d err=%q", r.Start.Format("15:04:05.000"), r.Status, r.Err))
		}
	}
	assert.Empty(t, failedAfter, "requests failed after dswap reported the route applied")
}

// watchGenerations polls Traefik's API in the background for the test's
// duration and records when each generation of a route file's marker was
// first shown; seen looks one up.
func watchGenerations(t *testing.T, marker string) (seen func(gen int64) (time.Time, bool)) {
	t.Helper()
	api := labAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var mu sync.Mutex
	first := map[int64]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			if rt, err := api.Runtime(ctx); err == nil {
				if g, ok := rt.Generation(marker); ok {
					now := time.Now()
					mu.Lock()
					if _, had := first[g]; !had {
						first[g] = now
					}
					mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func(gen int64) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		at, ok := first[gen]
		return at, ok
	}
}

// TestRouteFileTraefikRefusesIsPutBack: when Traefik does not apply a
// route file (here because another file of the directory does not load,
// which makes Traefik ignore the whole update), dswap puts the previous
// file back instead of leaving an unconfirmed one that would freeze the
// directory, exits non-zero and says where Traefik logs why.
func TestRouteFileTraefikRefusesIsPutBack(t *testing.T) {
	svc := startService(t, "putback", serviceOpts{})
	before := svc.routeFile(t)
	beforeGen := labels.GenerationOf([]byte(before))
	require.NotZero(t, beforeGen)

	broken := filepath.Join(suite.lab.RoutesDir, "broken-"+randomHex(3)+".yml")
	require.NoError(t, os.WriteFile(broken, []byte("http:\n  routers:\n    broken:\n      notAField: true\n"), 0o644))
	t.Cleanup(func() { _ = os.Remove(broken) })

	run := svc.up(t, image(imgV2), "--flip-timeout", "3s")
	assert.Equal(t, 1, run.code, "the swap failed and was rolled back")
	assert.Contains(t, run.result.Error, "Error occurred during watcher callback", "the hint names what Traefik logs")
	assert.Contains(t, run.result.Error, "the file it replaced was put back")

	now := svc.routeFile(t)
	assert.True(t, labels.SameRoute([]byte(before), []byte(now)), "the previous route is back:\nbefore\n%s\nnow\n%s", before, now)
	assert.Greater(t, labels.GenerationOf([]byte(now)), beforeGen, "put back as a new write")
	assert.Equal(t, image(imgV1), assertConsistent(t, svc))

	// Once the broken file is gone Traefik loads the directory again, with
	// the route put back; v1 still serves.
	require.NoError(t, os.Remove(broken))
	api := labAPI(t)
	marker := labels.GenerationMarker(serviceKey("", svc.name))
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		rt, err := api.Runtime(ctx)
		if err != nil {
			return false
		}
		g, ok := rt.Generation(marker)
		return ok && g == int64(labels.GenerationOf([]byte(now)))
	}, 10*time.Second, 20*time.Millisecond, "Traefik shows the route file put back")
	assertServes(t, svc, "v1")
}
