package swap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
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

// withAlias gives a container a network alias on a network it is on.
func withAlias(network, alias string) containerOpt {
	return func(c *engine.Container) {
		ep := c.Networks[network]
		ep.Aliases = append(ep.Aliases, alias)
		c.Networks[network] = ep
	}
}

func TestAddressingTargetsAvoidNamesOthersAnswerTo(t *testing.T) {
	edge := []string{"edge"}
	web := func() *engine.Container { return ctr("web", "app:v1", onNetworks("edge")) }
	tests := []struct {
		name string
		a    Addressing
		// running are the Engine's running containers besides web.
		running []*engine.Container
		want    string
		// namesakes are what the caller is told, as "container/network/as".
		namesakes []string
		wantErr   string
	}{
		{name: "no other container: the name", a: Addressing{TraefikNetworks: edge}, want: "web"},
		{name: "others with other names and aliases: the name", a: Addressing{TraefikNetworks: edge},
			running: []*engine.Container{ctr("db", "db", onNetworks("edge"), withAlias("edge", "database")), ctr("web-2", "app:v2", onNetworks("edge"), withAlias("edge", "web-api"))},
			want:    "web"},
		{name: "an alias on the shared network: the IP", a: Addressing{TraefikNetworks: edge},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("edge"), withAlias("edge", "web"))},
			want:    "10.0.1.2", namesakes: []string{"squat/edge/alias"}},
		{name: "DNS names compare without case", a: Addressing{TraefikNetworks: edge},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("edge"), withAlias("edge", "WEB"))},
			want:    "10.0.1.2", namesakes: []string{"squat/edge/alias"}},
		{name: "an alias on another of Traefik's networks: the IP", a: Addressing{TraefikNetworks: []string{"edge", "other"}},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("other"), withAlias("other", "web"))},
			want:    "10.0.1.2", namesakes: []string{"squat/other/alias"}},
		{name: "an alias on a network Traefik is not on: the name", a: Addressing{TraefikNetworks: edge},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("backend"), withAlias("backend", "web"))},
			want:    "web"},
		{name: "same name on Traefik's network (another Engine's view): the IP", a: Addressing{TraefikNetworks: edge},
			running: []*engine.Container{{ID: "other", Name: "web", Networks: map[string]engine.Endpoint{"edge": {IPAddress: "10.0.9.9"}}}},
			want:    "10.0.1.2", namesakes: []string{"web/edge/name"}},
		{name: "its own alias does not count", a: Addressing{TraefikNetworks: edge},
			running: []*engine.Container{ctr("web", "app:v1", onNetworks("edge"), withAlias("edge", "web"))},
			want:    "web"},
		{name: "name mode refuses a taken name", a: Addressing{TraefikNetworks: edge, Mode: "name"},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("edge"), withAlias("edge", "web"))},
			wantErr: "container squat answers to web on network edge (as its alias)"},
		{name: "ip mode does not look", a: Addressing{TraefikNetworks: edge, Mode: "ip"},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("edge"), withAlias("edge", "web"))},
			want:    "10.0.1.2"},
		{name: "Traefik on the host: the IP", a: Addressing{},
			running: []*engine.Container{ctr("squat", "evil", onNetworks("edge"), withAlias("edge", "web"))},
			want:    "10.0.1.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.a.Mode != "ip" && len(tt.a.TraefikNetworks) > 0, tt.a.needsLook())
			c := web()
			got, namesakes, err := tt.a.Targets([]*engine.Container{c}, append([]*engine.Container{c}, tt.running...))
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, tt.want, got[0].Host)
			var seen []string
			for _, n := range namesakes {
				assert.Equal(t, "web", n.Of)
				seen = append(seen, n.Container+"/"+n.Network+"/"+n.As)
			}
			assert.Equal(t, tt.namesakes, seen)
		})
	}
}

func TestAddressingRoutesMatchesNameOrIP(t *testing.T) {
	c := ctr("web", "app:v1", onNetworks("edge"))
	for _, tt := range []struct {
		hosts []string
		want  string
	}{
		{hosts: []string{"web"}, want: "web"},
		{hosts: []string{"10.0.1.2"}, want: "10.0.1.2"},
		{hosts: []string{"web-2", "10.0.1.3"}},
	} {
		host, ok := Addressing{TraefikNetworks: []string{"edge"}}.Routes(c, tt.hosts)
		assert.Equal(t, tt.want, host, "hosts %v", tt.hosts)
		assert.Equal(t, tt.want != "", ok, "hosts %v", tt.hosts)
	}
}
