package dockercli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitPluginArgs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		opts GlobalOptions
		rest []string
		err  string
	}{
		{name: "plain", args: []string{"swap", "up", "app:v2"}, rest: []string{"up", "app:v2"}},
		{name: "global options with values", args: []string{"--context", "prod", "-H=unix:///x.sock", "--config", "/c", "--debug", "-l", "warn", "swap", "status"},
			opts: GlobalOptions{Context: "prod", Host: "unix:///x.sock", Config: "/c"}, rest: []string{"status"}},
		{name: "short context", args: []string{"-c", "lab", "swap", "up", "--service", "swap"}, opts: GlobalOptions{Context: "lab"}, rest: []string{"up", "--service", "swap"}},
		{name: "swap alone", args: []string{"swap"}, rest: []string{}},
		{name: "not run by docker", args: []string{"up", "app:v2"}, err: "run it as `docker swap ...`"},
		{name: "option missing its value", args: []string{"--context"}, err: "needs a value"},
		{name: "no plugin name", args: []string{"--debug"}, err: "without \"swap\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts, rest, err := SplitPluginArgs(tc.args)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.opts, opts)
			assert.Equal(t, tc.rest, rest)
		})
	}
}
