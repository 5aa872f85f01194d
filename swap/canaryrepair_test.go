package swap

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKilledCanaryIsUnsplitBeforeItsContainersStop: the next command and
// the keeper both put all the traffic back on the old container, confirmed,
// before the canary's container gets its stop signal; a paused canary is
// left alone.
func TestKilledCanaryIsUnsplitBeforeItsContainersStop(t *testing.T) {
	for _, how := range []string{"keeper", "sync"} {
		t.Run(how, func(t *testing.T) {
			w := canaryWorld(t, false)
			var err error
			switch how {
			case "keeper":
				_, err = w.swapper().Reconcile(context.Background(), "web", Overrides{})
			default:
				_, err = w.swapper().Sync(context.Background(), "web", Overrides{})
			}
			require.NoError(t, err)
			route := slices.Index(w.log, "route web http://web:8080")
			stop := slices.IndexFunc(w.log, func(l string) bool { return strings.HasPrefix(l, "stop id-web-canary-1 ") })
			require.NotEqual(t, -1, route, "the route goes back to the old container: %v", w.log)
			require.NotEqual(t, -1, stop, "the canary is stopped: %v", w.log)
			assert.Less(t, route, stop, "unsplit before the stop: %v", w.log)
			assert.NotContains(t, w.routes["web"], "weighted")
			assert.Equal(t, []string{"web=myapp:v1"}, w.running())
		})
	}
	w := canaryWorld(t, true)
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepPaused, got.Upkeep)
	assert.Empty(t, w.log, "a paused canary is left as it is")
}
