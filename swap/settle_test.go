package swap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// pausedTraefik answers the first n confirmations with a timeout, as a
// paused Traefik does, and confirms the rest.
func pausedTraefik(w *world, n int) {
	calls := 0
	w.applied = func(traefik.Expectation) error {
		calls++
		if calls <= n {
			return errors.New("Traefik did not apply the route within 3s")
		}
		return nil
	}
}

// The torture run's pause-traefik at the flip (seed 1, swap 10): Traefik,
// paused just after it read the flip's write, confirms neither the write
// nor the file put back in its place; on resuming it applies the flip's
// write first (it waited in the reload throttle) and the file put back
// 2 s later. dswap removed the new container as soon as the put back went
// unconfirmed, so Traefik's requests to it were answered 502 until its
// next reload. The new container must live until Traefik shows the route
// without it, and then get its drain window.
func TestARollbackStopsTheNewContainerOnlyOnceTraefikShowsTheRouteWithoutIt(t *testing.T) {
	w := newWorld()
	pausedTraefik(w, 2) // the flip and its put back
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, PhaseFlip, failed.Phase)
	assert.NoError(t, failed.RollbackErr)
	assert.Equal(t, []string{
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] err=Traefik did not apply the route within 3s",
		"route web http://web:8080",
		"confirm [http://web:8080] err=Traefik did not apply the route within 3s",
		"confirm [http://web:8080] err=<nil>",
		"stop id-web-2 5s",
		"remove id-web-2",
	}, w.log, "web-2 is stopped, with its drain window, only once Traefik shows the route without it")
	assert.Equal(t, settleTimeout, w.waits[len(w.waits)-1], "the wait for the route put back has its own deadline")
}

func TestARollbackLeavesTheNewContainerRunningWhileTraefikDoesNotShowTheRouteWithoutIt(t *testing.T) {
	w := newWorld()
	pausedTraefik(w, 3) // still paused when dswap gives up
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	require.Error(t, failed.RollbackErr)
	assert.Contains(t, failed.Error(), "web-2 are left running")
	assert.Contains(t, failed.Error(), "`dswap sync web` removes them")
	require.Contains(t, w.containers, "id-web-2")
	assert.True(t, w.containers["id-web-2"].State.Running, "not stopped while Traefik may route to it")
	for _, line := range w.log {
		assert.NotContains(t, line, "stop id-web-2")
		assert.NotContains(t, line, "remove id-web-2")
	}
	assertSameRoute(t, routeFor(w.containers["id-web"]), w.routes["web"], "the previous route file is back")

	// The next command, once Traefik answers, finishes the rollback.
	w.log = nil
	synced, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, synced[0].Containers)
	assert.NotContains(t, w.containers, "id-web-2")
	assert.Equal(t, "confirm [http://web:8080] err=<nil>", w.log[0], "the repair first sees Traefik show the route without web-2")
	assert.Equal(t, "stop id-web-2 5s", w.log[1])
}

func TestTheRepairLeavesUnroutedContainersRunningWhileTraefikDoesNotShowTheRoute(t *testing.T) {
	w := newWorld()
	pausedTraefik(w, 3)
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.Error(t, err)
	w.log = nil
	pausedTraefik(w, 1) // the repair's look
	_, err = w.swapper().Sync(context.Background(), "web", Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "web-2")
	assert.Contains(t, err.Error(), "left running")
	require.Contains(t, w.containers, "id-web-2")
	assert.True(t, w.containers["id-web-2"].State.Running)
}

// The torture run, seed 13, swap 159: dswap SIGKILLed 427 ms into removing
// the old container. Nothing was left to repair (the old one was gone),
// so the swap was never recorded and the last entry named v1 while v2
// served. The next command records it from the routed container's labels.
func TestTheNextCommandRecordsASwapKilledAfterItRemovedTheOldContainer(t *testing.T) {
	w := newWorld()
	delete(w.containers, "id-web")
	fresh := inspected("web-2", "myapp:v2", func(r *container.InspectResponse) {
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels[labels.CreatedByLabel] = labels.CreatedByValue
		r.Config.Labels[labels.PreviousContainerLabel] = "web"
		r.Config.Labels[labels.SwapIDLabel] = "swap-2"
		r.Config.Labels[labels.PreviousImageLabel] = "myapp:v1"
		r.Config.Labels[labels.PreviousImageIDLabel] = "sha256:myapp:v1"
	})
	w.containers[fresh.ID] = fresh
	w.routes["web"] = routeFor(fresh)
	h := memHistory{"web": {{ID: "swap-1", Result: "swapped", FromImage: "myapp:v2", ToImage: "myapp:v1", ToImageID: "sha256:myapp:v1"}}}
	sw := w.swapper()
	sw.History = h
	_, err := sw.Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	require.Len(t, h["web"], 2)
	e := h["web"][1]
	assert.Equal(t, "recovered", e.Result)
	assert.Equal(t, "swap-2", e.ID)
	assert.Equal(t, "myapp:v1", e.FromImage)
	assert.Equal(t, "myapp:v2", e.ToImage)

	// Once recorded, never again; and a history that agrees is left alone.
	sw = w.swapper()
	sw.History = h
	_, err = sw.Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Len(t, h["web"], 2)
	h["web"] = []history.Entry{{ID: "older", Result: "failed", FromImage: "myapp:v2", ToImage: "myapp:v3"}}
	sw = w.swapper()
	sw.History = h
	_, err = sw.Sync(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Len(t, h["web"], 1, "the last entry names v2 as serving: its swap's entry was trimmed, nothing is missing")
}

// When even putting the old route back fails, the swap's file stays: the
// new container serves, and the error says the next command finishes the
// swap rather than removing it.
func TestARollbackWhoseRestoreFailedLeavesTheServingNewContainerAndSaysSo(t *testing.T) {
	w := newWorld()
	w.applied = func(exp traefik.Expectation) error {
		switch fmt.Sprint(exp.Servers) {
		case "map[web:[http://web-2:8080]]":
			// The new version crashes soon after taking traffic.
			w.events <- engine.Event{ContainerID: "id-web-2", Action: "die", Attributes: map[string]string{"exitCode": "4"}, Time: time.Now()}
			return nil
		case "map[web:[http://web:8080]]":
			return errors.New("Traefik did not apply the route within 3s") // nor the put back
		}
		return nil
	}
	window := time.Minute
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{Monitor: &window}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	require.Error(t, failed.RollbackErr)
	assert.Contains(t, failed.Error(), "the swap's route stays")
	assert.Contains(t, failed.Error(), "`dswap sync web` finishes the swap")
	require.Contains(t, w.containers, "id-web-2", "not removed while the route names it")
	assert.Contains(t, w.routes["web"], "web-2")
}

// TestRouteFileTraefikRefusesIsPutBack (e2e): a file in the directory that
// Traefik refuses holds back every update, so neither the flip nor the file
// put back is ever shown; Traefik goes on answering with the route before
// the flip. It never read the flip, so the new container is stopped (it
// used to wait out settleTimeout and be left running).
func TestARollbackStopsTheNewContainerWhenTraefikHoldsBackTheDirectory(t *testing.T) {
	defer func(d time.Duration) { heldBackFor = d }(heldBackFor)
	heldBackFor = 300 * time.Millisecond
	w := newWorld()
	w.applied = func(traefik.Expectation) error { return errHeldBack }
	shown := `{"services":{"web@file":{"loadBalancer":{"servers":[{"url":"http://web:8080"}]}}},
		"middlewares":{"` + labels.GenerationMarker("web") + `@file":{"headers":{"customRequestHeaders":{"X-Dswap-Generation":"1"}}}}}`
	w.runtime = func() (*traefik.Runtime, error) {
		var rt traefik.Runtime
		return &rt, json.Unmarshal([]byte(shown), &rt)
	}
	flip := 200 * time.Millisecond
	start := time.Now()
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web", Overrides: Overrides{FlipTimeout: &flip}})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	assert.Contains(t, failed.Error(), "put back")
	assert.Less(t, time.Since(start), settleTimeout/2, "not the settle timeout")
	assert.NotContains(t, w.containers, "id-web-2", "the new container is removed")
	assert.Contains(t, w.log, "stop id-web-2 5s", "with its drain window")

	// Traefik showing a route to the new container, or a generation as
	// new as the one waited for, is not holding back anything.
	s := w.swapper()
	web2 := inspected("web-2", "myapp:v2")
	for name, body := range map[string]string{
		"routes it": strings.ReplaceAll(shown, "http://web:8080", "http://web-2:8080"),
		"newer one": strings.ReplaceAll(shown, `"X-Dswap-Generation":"1"`, `"X-Dswap-Generation":"9"`),
	} {
		w.runtime = func() (*traefik.Runtime, error) {
			var rt traefik.Runtime
			return &rt, json.Unmarshal([]byte(body), &rt)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*heldBackFor)
		why := s.heldBack(ctx, labels.GenerationMarker("web"), 9, []string{"web"}, []*engine.Container{web2})
		cancel()
		assert.Empty(t, why, name)
	}
}
