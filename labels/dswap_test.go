package labels

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/settings"
)

func TestDecodeSettings(t *testing.T) {
	yes, no := true, false
	drain, health, settle := 15*time.Second, 2*time.Minute, time.Duration(0)
	cmd := "curl -fsS http://localhost:8080/health"

	tests := []struct {
		name   string
		labels map[string]string
		want   Settings
	}{
		{
			name:   "nothing set",
			labels: map[string]string{"traefik.enable": "false", "com.example": "x"},
			want:   Settings{},
		},
		{
			name: "every setting",
			labels: map[string]string{
				"dswap.service":        "shop",
				"dswap.enable":         "true",
				"dswap.drain":          "15s",
				"dswap.health-timeout": "2m",
				"dswap.settle":         "0",
				"dswap.health-cmd":     "curl -fsS http://localhost:8080/health",
				"dswap.no-healthcheck": "false",
			},
			want: Settings{
				Service: "shop",
				Enable:  &yes,
				Overrides: settings.Overrides{
					Drain:         &drain,
					HealthTimeout: &health,
					Settle:        &settle,
					HealthCmd:     &cmd,
					NoHealthcheck: &no,
				},
			},
		},
		{
			name: "keys dswap writes itself are ignored",
			labels: map[string]string{
				ServiceLabel:             "shop",
				SwapIDLabel:              "01HZ",
				NameLabel:                "shop-2",
				PreviousContainerLabel:   "shop-1",
				CreatedByLabel:           CreatedByValue,
				"dswap.previous-image":   "shop:1.0",
				"dswap.image-id":         "sha256:abc",
				ImageIDLabel:             "sha256:def",
				ImageDigestLabel:         "127.0.0.1:5000/shop@sha256:0123",
				PreviousImageLabel:       "shop:1.0",
				PreviousImageIDLabel:     "sha256:abc",
				"dswap.swap.started-at":  "2025-01-01T00:00:00Z",
				"dswapper.anything":      "not ours",
				"com.docker.compose.foo": "bar",
			},
			want: Settings{Service: "shop"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSettings(tt.labels)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeSettingsErrors(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		wantErr []string
	}{
		{
			name:    "malformed boolean",
			labels:  map[string]string{"dswap.enable": "yes please"},
			wantErr: []string{`label "dswap.enable": "yes please" is not a boolean`},
		},
		{
			name:    "malformed no-healthcheck",
			labels:  map[string]string{"dswap.no-healthcheck": "1x"},
			wantErr: []string{`label dswap.no-healthcheck "1x" is not true or false`},
		},
		{
			name:    "duration without unit",
			labels:  map[string]string{"dswap.drain": "30"},
			wantErr: []string{`label dswap.drain "30" is not a duration: missing unit, e.g. 30s`},
		},
		{
			name:    "malformed duration",
			labels:  map[string]string{"dswap.health-timeout": "a while"},
			wantErr: []string{`label dswap.health-timeout "a while" is not a duration`},
		},
		{
			name:    "negative duration",
			labels:  map[string]string{"dswap.settle": "-5s"},
			wantErr: []string{`label dswap.settle "-5s" is negative`},
		},
		{
			name:    "empty service",
			labels:  map[string]string{"dswap.service": " "},
			wantErr: []string{`label "dswap.service" is empty`},
		},
		{
			name:    "empty health command",
			labels:  map[string]string{"dswap.health-cmd": ""},
			wantErr: []string{`label dswap.health-cmd "" is empty`},
		},
		{
			name:    "unknown key",
			labels:  map[string]string{"dswap.drian": "10s"},
			wantErr: []string{`label "dswap.drian" is not a dswap setting`, "dswap.drain"},
		},
		{
			name:    "wrong case",
			labels:  map[string]string{"dswap.Drain": "10s"},
			wantErr: []string{`label "dswap.Drain" is not a dswap setting: did you mean "dswap.drain"?`},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSettings(tt.labels)
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestLabelConstants(t *testing.T) {
	assert.Equal(t, "dswap.service", ServiceLabel)
	assert.Equal(t, "dswap.swap.id", SwapIDLabel)
	assert.Equal(t, "dswap.name", NameLabel)
	assert.Equal(t, "dswap.swap.previous", PreviousContainerLabel)
	assert.Equal(t, "dswap.managed-by", CreatedByLabel)
	assert.Equal(t, "dswap", CreatedByValue)

	// The labels dswap writes must read back without error.
	_, err := DecodeSettings(map[string]string{
		ServiceLabel: "shop", SwapIDLabel: "1", NameLabel: "shop-2", PreviousContainerLabel: "shop-1", CreatedByLabel: CreatedByValue,
	})
	assert.NoError(t, err)
}
