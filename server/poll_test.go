package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

func TestParsePoll(t *testing.T) {
	p, err := ParsePoll("service=web,image=127.0.0.1:5000/app:latest,every=30s")
	require.NoError(t, err)
	assert.Equal(t, Poll{Service: "web", Image: "127.0.0.1:5000/app:latest", Every: 30 * time.Second}, p)
	p, err = ParsePoll("service=web,image=app")
	require.NoError(t, err)
	assert.Equal(t, "app:latest", p.Image, "no tag means latest")
	assert.Equal(t, time.Minute, p.Every)
	for _, bad := range []string{"image=app", "service=web", "service=web,image=app,every=1s", "service=web,image=app,every=often",
		"service=web,image=app@sha256:" + sixtyFour, "service=web,image=app,tags=v*"} {
		_, err := ParsePoll(bad)
		assert.Error(t, err, bad)
	}
}

type fakePuller struct {
	pulled  string
	running []string
	pullErr error
	pulls   int
}

func (f *fakePuller) Pull(_ context.Context, ref string, _ *slog.Logger) (*engine.Image, error) {
	f.pulls++
	if f.pullErr != nil {
		return nil, f.pullErr
	}
	return &engine.Image{ID: f.pulled}, nil
}

func (f *fakePuller) RunningImageIDs(context.Context, string) ([]string, error) {
	return f.running, nil
}

type fakeSwaps struct {
	busy     bool
	triggers []string
	results  map[string]Outcome // by id; missing: still running
}

func (f *fakeSwaps) Result(id string) (Outcome, bool) {
	out, ok := f.results[id]
	return out, ok
}

func (f *fakeSwaps) Busy(string) bool { return f.busy }

func (f *fakeSwaps) Trigger(service, image string, pull engine.PullPolicy, trigger string) (string, error) {
	f.triggers = append(f.triggers, service+" "+image+" "+string(pull)+" "+trigger)
	return fmt.Sprintf("id%d", len(f.triggers)), nil
}

func TestPollerSwapsOnlyWhenTheTagMoved(t *testing.T) {
	poll := Poll{Service: "web", Image: "127.0.0.1:5000/app:latest", Every: time.Minute}
	for _, tc := range []struct {
		name    string
		puller  fakePuller
		busy    bool
		trigger []string
	}{
		{"same image", fakePuller{pulled: "sha256:a", running: []string{"sha256:a"}}, false, nil},
		{"moved", fakePuller{pulled: "sha256:b", running: []string{"sha256:a"}}, false, []string{"web 127.0.0.1:5000/app:latest never poll"}},
		{"one of two containers differs", fakePuller{pulled: "sha256:b", running: []string{"sha256:b", "sha256:a"}}, false, []string{"web 127.0.0.1:5000/app:latest never poll"}},
		{"nothing runs", fakePuller{pulled: "sha256:b"}, false, nil},
		{"registry down", fakePuller{pullErr: errors.New("unreachable")}, false, nil},
		{"a swap is on", fakePuller{pulled: "sha256:b", running: []string{"sha256:a"}}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := &fakeSwaps{busy: tc.busy}
			p := &Poller{Poll: poll, Puller: &tc.puller, Swaps: sw, Log: slog.New(slog.DiscardHandler)}
			p.Check(context.Background())
			assert.Equal(t, tc.trigger, sw.triggers)
			if tc.busy {
				assert.Zero(t, tc.puller.pulls, "no pull while a swap runs")
			}
		})
	}
}

func TestPollerDoesNotRetryAnImageWhoseSwapFailed(t *testing.T) {
	puller := &fakePuller{pulled: "sha256:broken", running: []string{"sha256:a"}}
	sw := &fakeSwaps{results: map[string]Outcome{}}
	p := &Poller{Poll: Poll{Service: "web", Image: "app:latest", Every: time.Minute}, Puller: puller, Swaps: sw, Log: slog.New(slog.DiscardHandler)}

	require.Equal(t, "id1", p.Check(context.Background()))
	assert.Empty(t, p.Check(context.Background()), "the swap is still running")
	sw.results["id1"] = Outcome{Result: "failed", ExitCode: ExitFailed}
	assert.Empty(t, p.Check(context.Background()), "the same broken image is not swapped to again")
	assert.Empty(t, p.Check(context.Background()))
	assert.Len(t, sw.triggers, 1)

	puller.pulled = "sha256:fixed" // the tag moved on
	assert.Equal(t, "id2", p.Check(context.Background()))
	sw.results["id2"] = Outcome{Result: "swapped"}
	puller.running = []string{"sha256:fixed"}
	assert.Empty(t, p.Check(context.Background()), "up to date")
	assert.Len(t, sw.triggers, 2)
}
