package bench

import (
	"fmt"
	"strings"
	"time"
)

// Scenario is a kind of service and load a swap is measured under.
type Scenario struct {
	Name  string // the -scenario value
	Title string
	// Delay is how long the service takes per request.
	Delay time.Duration
	// HealthInterval is the image's HEALTHCHECK --interval.
	HealthInterval time.Duration
	// ReadyAfter is how long after start the app's /healthz turns 200
	// (testapp's READY_AFTER).
	ReadyAfter time.Duration
	// Sessions is how many WebSocket sessions (the app's /ws) are held
	// open across each swap; the swap's table counts those it cut.
	Sessions int
}

// Scenarios are all scenarios, in the order they run.
var Scenarios = []Scenario{
	{Name: "50ms", Title: "50 ms requests, HEALTHCHECK every 1s, ready at start", Delay: 50 * time.Millisecond, HealthInterval: time.Second},
	{Name: "3s", Title: "3 s requests (in flight at the flip), HEALTHCHECK every 1s, ready at start", Delay: 3 * time.Second, HealthInterval: time.Second},
	{Name: "hc1s", Title: "50 ms requests, HEALTHCHECK every 1s, ready 1s after start", Delay: 50 * time.Millisecond, HealthInterval: time.Second, ReadyAfter: time.Second},
	{Name: "hc30s", Title: "50 ms requests, HEALTHCHECK every 30s, ready 1s after start", Delay: 50 * time.Millisecond, HealthInterval: 30 * time.Second, ReadyAfter: time.Second},
	{Name: "ws", Title: "50 ms requests and 20 WebSocket sessions open across the swap (counted cut 2.5s after it), HEALTHCHECK every 1s, ready at start", Delay: 50 * time.Millisecond, HealthInterval: time.Second, Sessions: 20},
}

// Strategy is a way of swapping that the benchmark measures.
type Strategy struct {
	Name  string // the -strategy value
	Title string
	// Slug names its files.
	Slug string
	// Grace is how long the label baseline waits after healthy before it
	// stops the old container.
	Grace time.Duration
	// Dswap is set for dswap itself; the others are label baselines.
	Dswap bool
	// KeepConnections is dswap's --keep-connections bound; with it a
	// dswap keep runs beside the swaps, to which dswap up hands the
	// lingering containers.
	KeepConnections time.Duration
}

// Strategies are all strategies, in the order they run.
var Strategies = []Strategy{
	{Name: "dswap", Slug: "dswap", Dswap: true, Title: "dswap up: file-provider route flipped and confirmed through Traefik's API, then SIGTERM old (drain 10s)"},
	{Name: "dswap+keep", Slug: "dswap-keep", Dswap: true, KeepConnections: 2 * time.Minute, Title: "dswap up --keep-connections 2m, dswap keep running: as dswap, but an old container with open connections lingers unrouted until they close"},
	{Name: "labels", Slug: "labels", Title: "label baseline: both containers carry the same traefik.* labels (docker provider); docker stop old as soon as new is healthy"},
	{Name: "labels+3s", Slug: "labels-3s", Grace: 3 * time.Second, Title: "label baseline: same, waiting 3s after healthy before docker stop old"},
}

// selectByName picks the named items from all, in all's order; "" or
// "all" picks everything. An unknown name is an error listing the known.
func selectByName[T any](list string, all []T, name func(T) string) ([]T, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var out []T
	known := make([]string, 0, len(all))
	for _, item := range all {
		known = append(known, name(item))
		if want[name(item)] {
			out = append(out, item)
			delete(want, name(item))
		}
	}
	for n := range want {
		return nil, fmt.Errorf("unknown name %q: want one or more of %s, comma-separated, or all", n, strings.Join(known, ", "))
	}
	return out, nil
}

// SelectScenarios parses -scenario.
func SelectScenarios(list string) ([]Scenario, error) {
	out, err := selectByName(list, Scenarios, func(s Scenario) string { return s.Name })
	if err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	return out, nil
}

// SelectStrategies parses -strategy.
func SelectStrategies(list string) ([]Strategy, error) {
	out, err := selectByName(list, Strategies, func(s Strategy) string { return s.Name })
	if err != nil {
		return nil, fmt.Errorf("-strategy: %w", err)
	}
	return out, nil
}
