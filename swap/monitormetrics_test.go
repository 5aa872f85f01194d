package swap

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/traefik"
)

// TestMonitorJudgesLatency: during --monitor after the full flip, a p99
// over --max-p99 (absolute, or relative to the old version's p99 before
// the flip) rolls the release back; one within it does not.
func TestMonitorJudgesLatency(t *testing.T) {
	t0 := time.Now()
	at := func(sec int, web traefik.ServiceStats) traefik.Snapshot {
		return traefik.Snapshot{At: t0.Add(time.Duration(sec) * time.Second), Services: map[string]traefik.ServiceStats{"web@file": web}}
	}
	// Before the flip the old version answered 200 requests within 0.1 s;
	// after it the new one answers 100 more, within latency.
	metrics := func(latency float64) *snapshots {
		flip := stats(200, 0, 0.1)
		after := stats(300, 0, 0.1)
		if latency > 0.1 {
			for i := range after.Buckets {
				if after.Buckets[i].UpperBound < latency {
					after.Buckets[i].Count = 200
				}
			}
		}
		return &snapshots{list: []traefik.Snapshot{at(0, stats(0, 0, 0.1)), at(10, flip), at(11, after)}}
	}
	for _, tc := range []struct {
		name    string
		pol     CanaryPolicy
		latency float64
		fail    string
	}{
		{"absolute, over", CanaryPolicy{MaxP99: 200 * time.Millisecond, MinRequests: 50}, 1.2, "p99 "},
		{"absolute, within", CanaryPolicy{MaxP99: 200 * time.Millisecond, MinRequests: 50}, 0.1, ""},
		{"relative, over", CanaryPolicy{MaxP99Relative: 1.5, MinRequests: 50}, 1.2, "the old version's"},
		{"relative, within", CanaryPolicy{MaxP99Relative: 1.5, MinRequests: 50}, 0.1, ""},
		{"too few requests to judge", CanaryPolicy{MaxP99: 200 * time.Millisecond, MinRequests: 500}, 1.2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newWorld().swapper()
			m := metrics(tc.latency)
			s.Metrics, s.cfg.Canary, s.cfg.Monitor = m, tc.pol, 30*time.Second
			base, err := m.Snapshot(context.Background())
			require.NoError(t, err)
			s.baseline = &base // read before the new version started
			require.True(t, s.monitorsMetrics())

			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			failing := make(chan error, 1)
			go s.watchMetrics(ctx, []string{"web"}, failing)
			select {
			case err := <-failing:
				require.NotEmpty(t, tc.fail, "rolled back within its limits: %v", err)
				assert.Contains(t, err.Error(), tc.fail)
				assert.Contains(t, err.Error(), "within the --monitor window of 30s")
			case <-ctx.Done():
				assert.Empty(t, tc.fail, "not rolled back")
			}
		})
	}
}
