package swap

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// snapshots answers each Snapshot with the next of its list (the last one
// again once they run out), or with err.
type snapshots struct {
	list  []traefik.Snapshot
	err   error
	calls int
}

func (s *snapshots) Snapshot(context.Context) (traefik.Snapshot, error) {
	if s.err != nil {
		return traefik.Snapshot{}, s.err
	}
	i := min(s.calls, len(s.list)-1)
	s.calls++
	return s.list[i], nil
}

// canaryWorld is a world whose service web runs a paused 10% canary: web
// (v1) in the stable child, web-canary-1 (v2) in the canary child.
func canaryWorld(t *testing.T, paused bool) *world {
	t.Helper()
	w := newWorld()
	news := inspected("web-canary-1", "myapp:v2", func(r *container.InspectResponse) {
		r.ID = "id-web-canary-1"
		r.Config.Labels["dswap.service"] = "web"
		r.Config.Labels[labels.CreatedByLabel] = labels.CreatedByValue
	})
	w.containers[news.ID] = news
	routing, err := labels.DecodeTraefik(news.Labels, "web", news.ExposedPorts)
	require.NoError(t, err)
	content, err := routing.WeightedFile("web", labels.Split{Stable: []labels.Target{{Host: "web"}}, Canary: []labels.Target{{Host: "web-canary-1"}}, CanaryWeight: 10, Sticky: true})
	require.NoError(t, err)
	if paused {
		content = labels.MarkPaused(content, []int{10, 50}, true)
	}
	w.routes["web"] = string(content)
	return w
}

func TestStatusShowsACanarysWeightsAndLiveFigures(t *testing.T) {
	w := canaryWorld(t, true)
	t0 := time.Now()
	metrics := &snapshots{list: []traefik.Snapshot{
		{At: t0, Services: map[string]traefik.ServiceStats{"web-stable@file": stats(1000, 1, 0.1), "web-canary@file": stats(100, 0, 0.1)}},
		{At: t0.Add(2 * time.Second), Services: map[string]traefik.ServiceStats{"web-stable@file": stats(1180, 2, 0.1), "web-canary@file": stats(140, 8, 1.2)}},
	}}
	s := w.swapper()
	s.Metrics, s.LiveWindow = metrics, 10*time.Millisecond

	st, err := s.StatusOf(context.Background(), "web")
	require.NoError(t, err)
	require.Len(t, st, 1)
	cs := st[0].Canary
	require.NotNil(t, cs, "a weighted route is a canary")
	assert.Equal(t, 10, cs.Weight)
	assert.True(t, cs.Paused)
	assert.True(t, cs.Sticky)
	assert.Empty(t, cs.MetricsError)
	assert.Equal(t, 2*time.Second, cs.Window, "the window is the time between the two reads, as Traefik's counters were taken")
	assert.Equal(t, []string{"web-canary"}, cs.Canary.Services)
	assert.Equal(t, 40.0, cs.Canary.Requests)
	assert.Equal(t, 8.0, cs.Canary.Errors)
	assert.InDelta(t, 0.2, cs.Canary.ErrorRate(), 1e-9)
	assert.InDelta(t, 20.0, cs.Canary.RatePerSecond(cs.Window), 1e-9)
	require.True(t, cs.Canary.HasP99)
	assert.Greater(t, cs.Canary.P99, 300*time.Millisecond, "the canary's requests all fell in the 0.3 to 1.2 s bucket")
	assert.Equal(t, 180.0, cs.Stable.Requests)
	assert.Equal(t, 1.0, cs.Stable.Errors)
	assert.LessOrEqual(t, cs.Stable.P99, 100*time.Millisecond)
	assert.Equal(t, 2, metrics.calls, "one window: two reads")
	assert.False(t, st[0].Damage.Interrupted(), "a paused canary is not an interrupted swap")
}

func TestStatusOfACanaryWithoutLiveFigures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metrics Metrics
		window  time.Duration
		want    string
	}{
		{"no metrics", nil, time.Millisecond, "Traefik's metrics are not known"},
		{"metrics unreadable", &snapshots{err: errors.New("GET /metrics: 404 Not Found")}, time.Millisecond, "404 Not Found"},
		{"no window", &snapshots{err: errors.New("must not be read")}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := canaryWorld(t, false).swapper()
			s.Metrics, s.LiveWindow = tc.metrics, tc.window
			st, err := s.StatusOf(context.Background(), "web")
			require.NoError(t, err, "the status is shown without the figures")
			require.NotNil(t, st[0].Canary)
			assert.Equal(t, 10, st[0].Canary.Weight)
			assert.False(t, st[0].Canary.Paused)
			assert.Zero(t, st[0].Canary.Window)
			if tc.want == "" {
				assert.Empty(t, st[0].Canary.MetricsError)
			} else {
				assert.Contains(t, st[0].Canary.MetricsError, tc.want)
			}
		})
	}
}

func TestStatusOfAPlainRouteHasNoCanary(t *testing.T) {
	metrics := &snapshots{err: errors.New("must not be read")}
	s := newWorld().swapper()
	s.Metrics, s.LiveWindow = metrics, time.Second
	st, err := s.StatusOf(context.Background(), "web")
	require.NoError(t, err)
	assert.Nil(t, st[0].Canary)
	assert.Zero(t, metrics.calls, "no canary: no wait for the metrics")
}
