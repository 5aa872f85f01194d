package swap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// assertSameRoute compares route files as Traefik would use them: the
// generation marker differs on every write.
func assertSameRoute(t *testing.T, want, got string, msg string) {
	t.Helper()
	assert.True(t, labels.SameRoute([]byte(want), []byte(got)), "%s:\nwant\n%s\ngot\n%s", msg, want, got)
}

// stamped is a route file as dswap writes it, with a generation marker.
func stamped(t *testing.T, content string, gen labels.Generation) string {
	t.Helper()
	b, err := labels.Stamp([]byte(content), "web", gen)
	require.NoError(t, err)
	return string(b)
}

// TestEveryWriteIsConfirmedByItsGeneration: the confirmation asks Traefik
// for exactly the generation written into the file, and each write's is
// greater than the one it replaced.
func TestEveryWriteIsConfirmedByItsGeneration(t *testing.T) {
	w := newWorld()
	w.routes["web"] = stamped(t, w.routes["web"], 1<<62) // a generation from the future
	var asked []traefik.Expectation
	w.applied = func(exp traefik.Expectation) error {
		asked = append(asked, exp)
		return nil
	}
	_, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	require.Len(t, asked, 1)
	assert.Equal(t, "dswap-generation-web", asked[0].Marker)
	assert.Equal(t, int64(1<<62+1), asked[0].Generation, "greater than the replaced file's, whatever the clock says")
	assert.Equal(t, labels.Generation(asked[0].Generation), labels.GenerationOf([]byte(w.routes["web"])), "the file holds the generation Traefik was asked for")
}

func TestSyncPutsThePreviousFileBackWhenTraefikDoesNotConfirm(t *testing.T) {
	w := newWorld()
	// The route names a container that is gone; sync routes the one that
	// runs, and Traefik never shows that write.
	before := stamped(t, routeFor(inspected("web-gone", "myapp:v1")), 5)
	w.routes["web"] = before
	w.applied = func(exp traefik.Expectation) error {
		if strings.Contains(fmt.Sprint(exp.Servers), "http://web:8080") {
			return errors.New("Traefik did not apply the route within 15s")
		}
		return nil
	}
	_, err := w.swapper().Sync(context.Background(), "web", Overrides{})
	require.Error(t, err, "log: %v", w.log)
	assert.ErrorContains(t, err, "the file it replaced was put back and Traefik shows it")
	assertSameRoute(t, before, w.routes["web"], "the previous route file is back")
	assert.Greater(t, labels.GenerationOf([]byte(w.routes["web"])), labels.Generation(5), "the put-back file is a new write, confirmed by its own generation")
	assert.Equal(t, []string{
		"route web http://web:8080",
		"confirm [http://web:8080] err=Traefik did not apply the route within 15s",
		"route web http://web-gone:8080",
		"confirm [http://web-gone:8080] err=<nil>",
	}, w.log)
}

func TestReconcileRemovesAFileTraefikDoesNotConfirmWhenThereWasNone(t *testing.T) {
	w := newWorld()
	delete(w.routes, "web")
	w.applied = func(exp traefik.Expectation) error {
		if exp.Generation != 0 {
			return errors.New("Traefik did not apply the route within 15s")
		}
		return nil
	}
	_, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.Error(t, err)
	assert.ErrorContains(t, err, "the file was removed (there was none before)")
	assert.NotContains(t, w.routes, "web", "no unconfirmed file is left for the keeper to find unchanged")
	assert.Equal(t, []string{"route web http://web:8080", "confirm [http://web:8080] err=Traefik did not apply the route within 15s", "unroute web", "confirm [] err=<nil>"}, w.log)
}

func TestReconcileIgnoresTheGenerationWhenComparing(t *testing.T) {
	w := newWorld()
	w.routes["web"] = stamped(t, w.routes["web"], 42)
	got, err := w.swapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, UpkeepUnchanged, got.Upkeep, "only the marker differs from what would be written")
	assert.Empty(t, w.log)
}
