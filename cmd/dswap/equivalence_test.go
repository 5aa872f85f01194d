package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/settings"
)

// valueOf is a value of s's kind other than its default, so that a
// setting that is lost on the way cannot pass for its default.
func valueOf(s *settings.Setting) string {
	switch s.Kind {
	case settings.Duration:
		return "7s"
	case settings.Int:
		return "3"
	case settings.Ratio:
		return "0.25"
	case settings.Bool:
		return "true"
	case settings.Enum:
		return s.Values[len(s.Values)-1]
	}
	return "echo ok"
}

// localRequest is what a local `dswap up args...` would run, read as it
// reads it, without a daemon.
func localRequest(t *testing.T, args ...string) settings.Request {
	t.Helper()
	cmd := newUpCommand(newCLI(io.Discard, io.Discard))
	require.NoError(t, cmd.Flags().Parse(args[1:]))
	opts, err := readUpOptions(cmd.Flags(), args[:1])
	require.NoError(t, err)
	in, err := readUpInputs(context.Background(), newCLI(io.Discard, io.Discard), opts)
	require.NoError(t, err)
	return in.request
}

// TestLocalAndRemoteUpRunTheSameRequest takes every setting of the table
// that a swap carries through the local path and through DSWAP_HOST,
// given as flags and as variables, and asserts that the sidecar receives
// the request the local swap would run.
func TestLocalAndRemoteUpRunTheSameRequest(t *testing.T) {
	t.Chdir(t.TempDir()) // no compose file
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	var carried []*settings.Setting
	for _, s := range settings.All {
		if s.Lands() || s.Name == "atomic" {
			carried = append(carried, s)
		}
	}
	for _, tc := range []struct {
		name string
		// skip leaves a setting out of this case.
		skip string
	}{
		{name: "every setting", skip: "atomic"},
		{name: "atomic", skip: "parallelism"},
	} {
		for _, asFlags := range []bool{true, false} {
			name := tc.name + " as variables"
			if asFlags {
				name = tc.name + " as flags"
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"myapp:v2", "--service", "web"}
				for _, s := range carried {
					t.Setenv(s.Env, "") // restored after the test
					unsetenv(t, s.Env)
				}
				for _, s := range carried {
					switch {
					case s.Name == tc.skip:
					case asFlags:
						args = append(args, "--"+s.Name+"="+valueOf(s))
					default:
						t.Setenv(s.Env, valueOf(s))
					}
				}
				t.Setenv("DSWAP_HOST", "")
				local := localRequest(t, args...)
				for _, s := range carried {
					if _, set := s.Value(&local.Overrides); s.Lands() && s.Name != tc.skip {
						assert.True(t, set, "%s is read by the local path", s.Name)
					}
				}

				b := &sidecarBackend{}
				sidecar(t, b)
				code, _, stderr := runArgs(append([]string{"up"}, args...)...)
				require.Equal(t, 0, code, stderr)
				require.Len(t, b.reqs, 1)
				assert.Equal(t, swapRequest(local), b.reqs[0], "the sidecar receives the request a local swap runs")
				wantPull, err := engine.ParsePullPolicy(*local.Pull)
				require.NoError(t, err)
				assert.Equal(t, wantPull, b.opts[0].Pull)
				assert.Equal(t, local.LockWait, b.opts[0].LockWait)
				if tc.name == "atomic" {
					assert.Equal(t, 0, *b.reqs[0].Overrides.Parallelism, "--atomic travels as parallelism 0")
				}
			})
		}
	}
}
