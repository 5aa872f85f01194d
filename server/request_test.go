package server

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

func TestSwapRequestBody(t *testing.T) {
	var req SwapRequest
	require.NoError(t, decodeStrict(bytes.NewReader([]byte(`{"image":"myapp:v2","drain":"10s","probe_interval":"0s","pull":"always","parallelism":2}`)), &req))
	assert.Equal(t, "10s", req.Drain.String())
	assert.Zero(t, *req.ProbeInterval, "an explicit zero is kept: it turns probing off")
	assert.Equal(t, 2, *req.Parallelism)
	pull, err := pullPolicy(req, engine.PullMissing)
	require.NoError(t, err)
	assert.Equal(t, engine.PullAlways, pull)

	var empty SwapRequest
	require.NoError(t, decodeStrict(bytes.NewReader([]byte(`{"image":"myapp:v2"}`)), &empty))
	pull, _ = pullPolicy(empty, engine.PullNever)
	assert.Equal(t, engine.PullNever, pull, "the sidecar's default")

	err = decodeStrict(bytes.NewReader([]byte(`{"image":"myapp:v2","drian":"10s"}`)), &empty)
	assert.EqualError(t, err, `the request body is not the expected JSON object: json: unknown field "drian"`, "a typo is not a silent default")
	assert.EqualError(t, validate(SwapRequest{}), `"image" is required, e.g. {"image": "myapp:v2"}`)
}

func TestRollbackRequestTakesOnlyItsSettings(t *testing.T) {
	var r RollbackRequest
	require.NoError(t, decodeStrict(bytes.NewReader([]byte(`{"drain":"5s","monitor":"1m"}`)), &r))
	assert.Equal(t, "5s", r.Drain.String())
	err := decodeStrict(bytes.NewReader([]byte(`{"parallelism":2}`)), &r)
	assert.ErrorContains(t, err, `unknown field "parallelism"`)
}
