package swap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddressingTarget(t *testing.T) {
	tests := []struct {
		name    string
		a       Addressing
		nets    []string
		want    string
		wantErr string
	}{
		{name: "shared user network uses the name", a: Addressing{TraefikNetworks: []string{"edge"}}, nets: []string{"edge"}, want: "web-2"},
		{name: "ip mode", a: Addressing{TraefikNetworks: []string{"edge"}, Mode: "ip"}, nets: []string{"edge"}, want: "10.0.1.2"},
		{name: "default bridge has no DNS", a: Addressing{TraefikNetworks: []string{"bridge"}}, nets: []string{"bridge"}, want: "10.0.1.2"},
		{name: "Traefik on the host uses the IP", a: Addressing{}, nets: []string{"appnet"}, want: "10.0.1.2"},
		{name: "no shared network", a: Addressing{TraefikNetworks: []string{"edge"}}, nets: []string{"appnet"}, wantErr: "shares no network with Traefik"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.Target(ctr("web-2", "x", onNetworks(tt.nets...)))
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Host)
		})
	}
}
