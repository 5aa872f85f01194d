package settings

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommandsParse(t *testing.T) {
	pre := Get("pre")
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "php artisan migrate --force", want: []string{"php artisan migrate --force"}},
		{in: "a\n\n [\"/app\",\"warm\"] \n", want: []string{"a", `["/app","warm"]`}},
		{in: `["/app",`, bad: true},
		{in: `[]`, bad: true},
		{in: " \n ", bad: true},
	} {
		v, err := pre.Parse("--pre", tc.in)
		if tc.bad {
			assert.ErrorIs(t, err, ErrMalformed, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, v)
	}
}

func TestCommandsThroughTheRequest(t *testing.T) {
	var r Request
	require.NoError(t, json.Unmarshal([]byte(`{"image":"a:v2","pre":["migrate",["/app","seed"]],"post":"warm","post_failure":"rollback","task_timeout":"1m"}`), &r))
	require.NotNil(t, r.Pre)
	assert.Equal(t, []string{"migrate", `["/app","seed"]`}, *r.Pre)
	assert.Equal(t, []string{"warm"}, *r.Post)
	assert.Equal(t, "rollback", *r.PostFailure)

	// What the caller sends is what the sidecar reads.
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back Request
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}
