package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvName(t *testing.T) {
	assert.Equal(t, "DSWAP_HEALTH_TIMEOUT", envName("health-timeout"))
	assert.Equal(t, "DSWAP_TRAEFIK_API", envName("traefik-api"))
}

func TestLayeredDuration(t *testing.T) {
	newFlags := func(args ...string) *pflag.FlagSet {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.Duration("drain", 30*time.Second, "")
		require.NoError(t, fs.Parse(args))
		return fs
	}
	tests := []struct {
		name    string
		args    []string
		env     string
		want    *time.Duration
		wantErr string
	}{
		{name: "nothing set", want: nil},
		{name: "env only", env: "5s", want: ptr(5 * time.Second)},
		{name: "flag beats env", args: []string{"--drain=2s"}, env: "5s", want: ptr(2 * time.Second)},
		{name: "malformed env", env: "soon", wantErr: `DSWAP_DRAIN "soon" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("DSWAP_DRAIN", tt.env)
			}
			got, err := layeredDuration(newFlags(tt.args...), "drain")
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.ErrorIs(t, err, errUsage)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func ptr[T any](v T) *T { return &v }
