package swap

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
)

func TestLayer(t *testing.T) {
	sec := func(n int) *time.Duration { d := time.Duration(n) * time.Second; return &d }
	yes := true
	cmd := "curl -f localhost"
	tests := []struct {
		name    string
		over    Overrides
		lbl     labels.Settings
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			assert.Equal(t, 30*time.Second, c.Drain)
			assert.Equal(t, 15*time.Second, c.FlipTimeout)
			assert.Zero(t, c.HealthTimeout)
		}},
		{name: "label beats default", lbl: labels.Settings{Overrides: Overrides{Drain: sec(5)}}, check: func(t *testing.T, c Config) {
			assert.Equal(t, 5*time.Second, c.Drain)
		}},
		{name: "flag or env beats label", over: Overrides{Drain: sec(2)}, lbl: labels.Settings{Overrides: Overrides{Drain: sec(5)}}, check: func(t *testing.T, c Config) {
			assert.Equal(t, 2*time.Second, c.Drain)
		}},
		{name: "health cmd from label", lbl: labels.Settings{Overrides: Overrides{HealthCmd: &cmd}}, check: func(t *testing.T, c Config) {
			assert.Equal(t, cmd, c.HealthCmd)
		}},
		{name: "no healthcheck and health cmd contradict", over: Overrides{NoHealthcheck: &yes, HealthCmd: &cmd}, wantErr: "contradict"},
		{name: "negative drain", over: Overrides{Drain: sec(-1)}, wantErr: "negative"},
		{name: "zero flip timeout", over: Overrides{FlipTimeout: sec(0)}, wantErr: "above zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Layer(tt.over, tt.lbl)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.ErrorIs(t, err, ErrBadInput)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestHealthTest(t *testing.T) {
	got, err := HealthTest(`["/app", "health"]`)
	require.NoError(t, err)
	assert.Equal(t, []string{"CMD", "/app", "health"}, got)
	got, err = HealthTest("curl -fs localhost/healthz")
	require.NoError(t, err)
	assert.Equal(t, []string{"CMD-SHELL", "curl -fs localhost/healthz"}, got)
	_, err = HealthTest(`["/app", 3]`)
	assert.ErrorIs(t, err, ErrBadInput)
	got, err = HealthTest("")
	require.NoError(t, err)
	assert.Nil(t, got)
}
