package swap

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConns counts connections per container process, as the test sets
// them; a pid it does not know fails, as an unreadable /proc would.
type fakeConns struct {
	mu    sync.Mutex
	byPid map[int]int
}

func (f *fakeConns) set(pid, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byPid[pid] = n
}

func (f *fakeConns) Established(pid, port int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if port != 8080 {
		return 0, errors.New("asked about the wrong port")
	}
	n, ok := f.byPid[pid]
	if !ok {
		return 0, errors.New("no such process")
	}
	return n, nil
}

// lingerWorld is the fake world with --keep-connections possible: linger
// records in a temporary directory, connections as the test sets them, the
// history in memory. v1 (container web) runs as pid 101.
type lingerWorld struct {
	*world
	conns   *fakeConns
	lingers LingerDir
	history memHistory
}

func newLingerWorld(t *testing.T) *lingerWorld {
	w := &lingerWorld{world: newWorld(), conns: &fakeConns{byPid: map[int]int{}},
		lingers: LingerDir{Path: t.TempDir()}, history: memHistory{}}
	w.images["myapp:v3"] = testImage("myapp:v3")
	w.images["sha256:myapp:v3"] = w.images["myapp:v3"]
	w.setPid("id-web", 101)
	return w
}

func (w *lingerWorld) setPid(id string, pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.containers[id].State.Pid = pid
}

func (w *lingerWorld) lingerSwapper() *Swapper {
	s := w.swapper()
	return New(Deps{Docker: s.Docker, Images: s.Images, Routes: s.Routes, Traefik: s.Traefik, Addressing: s.Addressing,
		History: w.history, Lingers: w.lingers, Conns: w.conns})
}

func (w *lingerWorld) up(t *testing.T, image string, keep time.Duration) *Result {
	t.Helper()
	res, err := w.lingerSwapper().Up(context.Background(), Request{Image: image, Service: "web", Overrides: Overrides{KeepConnections: &keep}})
	require.NoError(t, err)
	return res
}

// look looks once at every linger, as the keeper does each LingerPoll.
func (w *lingerWorld) look(t *testing.T) (left []string, ended []LingerEnd) {
	t.Helper()
	recs, err := w.lingerSwapper().LookAtLingers(context.Background(), nil, false, func(e LingerEnd) { ended = append(ended, e) })
	require.NoError(t, err)
	for _, l := range recs {
		left = append(left, l.Container)
	}
	return left, ended
}

func (w *lingerWorld) records(t *testing.T) map[string]Linger {
	t.Helper()
	recs, err := w.lingers.List()
	require.NoError(t, err)
	out := map[string]Linger{}
	for _, l := range recs {
		out[l.Container] = l
	}
	return out
}

func (w *lingerWorld) logSince(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.log[n:]...)
}

func TestLingerKeepsAnOldContainerWithConnectionsUntilTheyClose(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	res := w.up(t, "myapp:v2", time.Minute)

	assert.Equal(t, []string{
		"create web-2 myapp:v2",
		"start id-web-2",
		"route web http://web-2:8080",
		"confirm [http://web-2:8080] err=<nil>",
	}, w.log, "v1 gets no stop signal while it holds connections")
	require.Len(t, res.Lingering, 1)
	l := res.Lingering[0]
	assert.Equal(t, "web", l.Container)
	assert.Equal(t, 8080, l.Port)
	assert.Equal(t, 3, l.AtFlip)
	assert.Equal(t, 5*time.Second, l.Drain, "the linger keeps the service's drain window")
	assert.WithinDuration(t, l.Since.Add(time.Minute), l.Until, time.Millisecond)
	assert.Contains(t, w.records(t), "web", "the linger is recorded before the swap reports")
	assert.Empty(t, res.Drained)

	// Connections still open: nothing happens; the record follows the count.
	n := len(w.log)
	w.conns.set(101, 5)
	left, ended := w.look(t)
	assert.Equal(t, []string{"web"}, left)
	assert.Empty(t, ended)
	w.conns.set(101, 1)
	left, _ = w.look(t)
	assert.Equal(t, []string{"web"}, left)
	rec := w.records(t)["web"]
	assert.Equal(t, 1, rec.Open)
	assert.Equal(t, 5, rec.Peak)
	assert.Empty(t, w.logSince(n))
	assert.Empty(t, w.history["web"][1:], "only the swap is in the history while v1 lingers")

	// The last connection closes: stopped with its drain window, removed.
	w.conns.set(101, 0)
	left, ended = w.look(t)
	assert.Empty(t, left)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(n))
	require.Len(t, ended, 1)
	assert.Equal(t, "connections closed", ended[0].Reason)
	assert.Empty(t, w.records(t))

	require.Len(t, w.history["web"], 2)
	h := w.history["web"][1]
	assert.Equal(t, "lingered", h.Result)
	assert.Equal(t, "myapp:v1", h.FromImage)
	assert.Equal(t, []string{"web"}, h.Containers)
	assert.Equal(t, 5, h.Connections)
	assert.Contains(t, h.Reason, "3 connection(s) at the flip, at most 5; ended: connections closed")
}

func TestLingerNotForAnOldContainerWithoutConnections(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 0)
	res := w.up(t, "myapp:v2", time.Minute)
	assert.Empty(t, res.Lingering)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(4))
	assert.Empty(t, w.records(t))
}

func TestLingerNotWhenConnectionsCannotBeCounted(t *testing.T) {
	w := newLingerWorld(t)
	// pid 101 unknown to the counter: /proc unreadable. Draining now is
	// the swap as without the setting, never a container left behind.
	res := w.up(t, "myapp:v2", time.Minute)
	assert.Empty(t, res.Lingering)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(4))
}

func TestLingerNotWithoutTheSetting(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	res, err := w.lingerSwapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "web"})
	require.NoError(t, err)
	assert.Empty(t, res.Lingering)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(4))
}

func TestLingerStoppedAtItsBoundWithConnectionsOpen(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	w.up(t, "myapp:v2", time.Minute)
	n := len(w.log)

	rec := w.records(t)["web"]
	rec.Until = time.Now().Add(-time.Millisecond)
	require.NoError(t, w.lingers.Put(rec))
	left, ended := w.look(t)
	assert.Empty(t, left)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(n), "connections still open, but the bound passed")
	require.Len(t, ended, 1)
	assert.Equal(t, "bound reached", ended[0].Reason)
	assert.Contains(t, w.history["web"][1].Reason, "ended: bound reached")
	assert.Empty(t, w.records(t))
}

func TestLingerEndsWhenTheContainerIsGoneOrExited(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	w.up(t, "myapp:v2", time.Minute)
	n := len(w.log)
	w.mu.Lock()
	delete(w.containers, "id-web") // docker rm -f by hand
	w.mu.Unlock()
	left, ended := w.look(t)
	assert.Empty(t, left)
	require.Len(t, ended, 1)
	assert.Equal(t, "container gone", ended[0].Reason)
	assert.Empty(t, w.logSince(n))
	assert.Empty(t, w.records(t), "no record of a container that does not exist is kept")
}

func TestLingerStopNowStopsThemAll(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	w.up(t, "myapp:v2", time.Minute)
	n := len(w.log)
	_, err := w.lingerSwapper().LookAtLingers(context.Background(), nil, true, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(n))
	assert.Contains(t, w.history["web"][1].Reason, "ended: stopped on request")
}

// Several generations: v1 lingers, v2 takes over and lingers in turn when
// v3 takes over. Neither is routed again; each ends on its own count and
// its own bound.
func TestLingerSeveralGenerations(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	w.up(t, "myapp:v2", time.Minute)
	w.setPid("id-web-2", 102)
	w.conns.set(102, 2)
	res := w.up(t, "myapp:v3", 2*time.Minute)

	assert.Equal(t, []string{"web-2"}, res.Old, "the lingering v1 is not an old container of this swap")
	require.Len(t, res.Lingering, 1)
	assert.Equal(t, "web-2", res.Lingering[0].Container)
	recs := w.records(t)
	require.Len(t, recs, 2)
	assert.Equal(t, "myapp:v1", recs["web"].Image)
	assert.Equal(t, "myapp:v2", recs["web-2"].Image)
	assert.True(t, recs["web-2"].Until.Sub(recs["web"].Until) > 30*time.Second, "each linger has its own bound")
	var newName string
	for _, c := range w.containers {
		if c.Image == "myapp:v3" {
			newName = c.Name
		}
	}
	require.NotEmpty(t, newName)
	assert.NotContains(t, []string{"web", "web-2"}, newName, "a lingering container's name stays taken")
	for _, e := range w.log {
		if strings.HasPrefix(e, "route ") {
			assert.NotContains(t, e, "http://web:", "the lingering v1 was routed again: %s", e)
		}
	}
	assert.Equal(t, "route web http://"+newName+":8080", lastRoute(w.log))
	assert.NotContains(t, w.log, "stop id-web 5s")
	assert.NotContains(t, w.log, "stop id-web-2 5s")

	// A sync or a further swap does not see them either: the reconcile
	// routes v3 alone and stops neither.
	n := len(w.log)
	_, err := w.lingerSwapper().Reconcile(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	for _, e := range w.logSince(n) {
		assert.NotRegexp(t, `^(stop|remove) id-web(-2)?$|http://web(-2)?:`, e)
	}

	// v2's sessions close first: v2 goes, v1 stays.
	n = len(w.log)
	w.conns.set(102, 0)
	left, ended := w.look(t)
	assert.Equal(t, []string{"web"}, left)
	require.Len(t, ended, 1)
	assert.Equal(t, "web-2", ended[0].Container)
	assert.Equal(t, []string{"stop id-web-2 5s", "remove id-web-2"}, w.logSince(n))

	// v1's bound passes with its sessions open: it goes too.
	rec := w.records(t)["web"]
	rec.Until = time.Now().Add(-time.Millisecond)
	require.NoError(t, w.lingers.Put(rec))
	left, ended = w.look(t)
	assert.Empty(t, left)
	require.Len(t, ended, 1)
	assert.Equal(t, "bound reached", ended[0].Reason)
	assert.Empty(t, w.records(t))
	var results []string
	for _, h := range w.history["web"] {
		results = append(results, h.Result)
	}
	assert.Equal(t, []string{"swapped", "swapped", "lingered", "lingered"}, results)
}

func TestFinishLingersWaitsUntilTheLastCloses(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	res := w.up(t, "myapp:v2", time.Minute)
	go func() {
		time.Sleep(2 * LingerPoll)
		w.conns.set(101, 0)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	var ended []LingerEnd
	err := w.lingerSwapper().FinishLingers(ctx, []string{res.Lingering[0].ContainerID}, true, func(e LingerEnd) { ended = append(ended, e) })
	require.NoError(t, err)
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 2*LingerPoll)
	assert.Less(t, took, 6*LingerPoll, "stopped within a poll or two of its last connection")
	require.Len(t, ended, 1)
	assert.Equal(t, "connections closed", ended[0].Reason)
}

func TestFinishLingersReturnsWhenInterrupted(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	w.up(t, "myapp:v2", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 2*LingerPoll)
	defer cancel()
	err := w.lingerSwapper().FinishLingers(ctx, nil, true, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, w.records(t), "web", "an interrupted wait leaves the record for whoever comes next")
}

func lastRoute(log []string) string {
	for i := len(log) - 1; i >= 0; i-- {
		if strings.HasPrefix(log[i], "route ") {
			return log[i]
		}
	}
	return ""
}

// A rollback during a linger deploys a fresh container of the lingering
// version: the lingering one has open sessions to finish, is past its
// place in the route, and, hidden from the service, is neither re-routed
// nor stopped by the rollback; it still ends on its own count.
func TestRollbackDuringALingerStartsAFreshContainer(t *testing.T) {
	w := newLingerWorld(t)
	w.conns.set(101, 3)
	w.up(t, "myapp:v2", time.Minute)
	w.setPid("id-web-2", 102)
	w.conns.set(102, 0)
	n := len(w.log)

	res, err := w.lingerSwapper().Rollback(context.Background(), "web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "myapp:v1", res.ToImage)
	require.Len(t, res.New, 1)
	fresh := res.New[0]
	assert.NotEqual(t, "web", fresh, "the lingering container is not taken back")
	assert.Equal(t, []string{"web-2"}, res.Old)
	assert.Equal(t, []string{
		"create " + fresh + " myapp:v1",
		"start id-" + fresh,
		"route web http://" + fresh + ":8080",
		"confirm [http://" + fresh + ":8080] err=<nil>",
		"stop id-web-2 5s",
		"remove id-web-2",
	}, w.logSince(n))
	assert.Contains(t, w.records(t), "web", "the lingering v1 still lingers")

	n = len(w.log)
	w.conns.set(101, 0)
	left, _ := w.look(t)
	assert.Empty(t, left)
	assert.Equal(t, []string{"stop id-web 5s", "remove id-web"}, w.logSince(n))
	assert.Contains(t, w.containers, "id-"+fresh, "the fresh v1 serves on")
}
