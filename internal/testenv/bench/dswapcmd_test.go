package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/timeline"
)

const sampleStderr = `{"time":"2026-11-27T15:03:19.000Z","level":"INFO","msg":"planning","phase":"plan","image":"app:v2"}
{"time":"2026-11-27T15:03:19.100Z","level":"INFO","msg":"creating the new container(s)","phase":"create"}
{"time":"2026-11-27T15:03:19.120Z","level":"INFO","msg":"created","phase":"create","container":"web-2"}
not json: a stray line
{"time":"2026-11-27T15:03:19.660Z","level":"INFO","msg":"healthy","phase":"health","container":"web-2"}
{"time":"2026-11-27T15:03:19.661Z","level":"INFO","msg":"moving Traefik's route to the new container(s)","phase":"flip"}
{"time":"2026-11-27T15:03:19.740Z","level":"INFO","msg":"traffic on new","phase":"flip"}
{"time":"2026-11-27T15:03:19.741Z","level":"INFO","msg":"stopping the old container(s)","phase":"drain"}
{"time":"2026-11-27T15:03:19.930Z","level":"INFO","msg":"stopped","phase":"drain"}
{"time":"2026-11-27T15:03:19.935Z","level":"INFO","msg":"removing the old container(s)","phase":"remove"}
{"time":"2026-11-27T15:03:19.950Z","level":"INFO","msg":"done","phase":"done"}
`

const sampleStdout = `{"result":"swapped","service":"web","from":"app:v1","to":"app:v2","old":["web-1"],"new":["web-2"],"healthy_seconds":0.66,"routed_after_healthy_seconds":0.08,"total_seconds":0.95,"readiness":"dswap ran the HEALTHCHECK test"}
`

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseDswapOutput(t *testing.T) {
	res, events, err := parseDswapOutput([]byte(sampleStdout), []byte(sampleStderr))
	require.NoError(t, err)
	assert.Equal(t, "swapped", res.Result)
	assert.Equal(t, []string{"web-2"}, res.New)
	assert.InDelta(t, 0.95, res.TotalSeconds, 1e-9)
	assert.Equal(t, "dswap ran the HEALTHCHECK test", res.Readiness)
	assert.Len(t, events, 10, "the stray line is skipped")
	assert.Equal(t, "plan", events[0].Phase)

	_, _, err = parseDswapOutput([]byte("dswap: bench routed\n"), nil)
	require.ErrorContains(t, err, "not the JSON result")
	_, _, err = parseDswapOutput(nil, nil)
	require.ErrorContains(t, err, "no JSON result")
}

func TestDswapMarks(t *testing.T) {
	_, events, err := parseDswapOutput([]byte(sampleStdout), []byte(sampleStderr))
	require.NoError(t, err)
	marks, healthy := dswapMarks(events)
	assert.Equal(t, at("2026-11-27T15:03:19.660Z"), healthy)
	assert.Equal(t, []timeline.Mark{
		{Name: "created", At: at("2026-11-27T15:03:19.120Z")},
		{Name: "healthy", At: at("2026-11-27T15:03:19.660Z")},
		{Name: "flipped", At: at("2026-11-27T15:03:19.740Z")},
		{Name: "SIGTERM old", At: at("2026-11-27T15:03:19.741Z")},
		{Name: "old exited", At: at("2026-11-27T15:03:19.930Z")},
		{Name: "removed", At: at("2026-11-27T15:03:19.950Z")},
	}, marks)
}

func TestDswapMarksFallBackToPhases(t *testing.T) {
	events := []logEvent{
		{Time: at("2026-11-27T15:00:01Z"), Msg: "ready by some new wording", Phase: "health"},
		{Time: at("2026-11-27T15:00:02Z"), Msg: "moving", Phase: "flip"},
		{Time: at("2026-11-27T15:00:03Z"), Msg: "stopping", Phase: "drain"},
	}
	marks, healthy := dswapMarks(events)
	assert.Equal(t, at("2026-11-27T15:00:02Z"), healthy, "entering flip stands in for a missing healthy event")
	names := []string{}
	for _, m := range marks {
		names = append(names, m.Name)
	}
	assert.Equal(t, []string{"healthy", "flipped", "SIGTERM old"}, names)
}
