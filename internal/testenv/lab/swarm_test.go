package lab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestPickSubnetsStaysInTheSwarmRangeAndSkipsTakenOnes(t *testing.T) {
	draws := [][2]byte{{0, 7}, {0, 7}, {50, 7}, {1, 9}, {49, 255}, {2, 0}}
	i := 0
	random := func() [2]byte { d := draws[i]; i++; return d }
	inUse := func(o [2]byte) bool { return o == [2]byte{151, 9} }
	got, err := pickSubnets(3, random, inUse)
	require.NoError(t, err)
	// {0,7} -> 150.7; again -> taken by this run; {50,7} -> 150.7 again
	// (50 % 50 = 0); {1,9} -> 151.9 in use; {49,255} -> 199.255;
	// {2,0} -> 152.0.
	assert.Equal(t, [][2]byte{{150, 7}, {199, 255}, {152, 0}}, got)
}

func TestPickSubnetsGivesUpWhenEverythingIsTaken(t *testing.T) {
	_, err := pickSubnets(2, func() [2]byte { return [2]byte{3, 4} }, func([2]byte) bool { return true })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no free /30")
}

func TestForwardRulesJoinEveryPairBothWays(t *testing.T) {
	rules := forwardRules([]string{"a", "b", "c"}, "dswaplab x")
	require.Len(t, rules, 6)
	assert.Equal(t, []string{"FORWARD", "-i", "a", "-o", "b", "-m", "comment", "--comment", "dswaplab x", "-j", "ACCEPT"}, rules[0])
	seen := map[string]bool{}
	for _, r := range rules {
		seen[r[2]+">"+r[4]] = true
		assert.NotEqual(t, r[2], r[4])
	}
	assert.Len(t, seen, 6)
	assert.Empty(t, forwardRules([]string{"a"}, "x"), "a single node needs no forwarding")
}

func TestNodeRoutesPointAtEveryOtherNodesSubnet(t *testing.T) {
	a := &OwnEngine{Name: "n-0", HostIP: "10.150.7.1", NSIP: "10.150.7.2"}
	b := &OwnEngine{Name: "n-1", HostIP: "10.160.3.1", NSIP: "10.160.3.2"}
	assert.Equal(t, [][]string{
		{"ip", "netns", "exec", "n-0", "ip", "route", "add", "10.160.3.0/30", "via", "10.150.7.1"},
		{"ip", "netns", "exec", "n-1", "ip", "route", "add", "10.150.7.0/30", "via", "10.160.3.1"},
	}, nodeRoutes([]*OwnEngine{a, b}))
}

func TestHostVethIsCutToTheKernelsLimit(t *testing.T) {
	assert.Equal(t, "vhdsw1a2b3c-0", hostVeth(&OwnEngine{Name: "dsw1a2b3c-0"}))
	assert.Len(t, hostVeth(&OwnEngine{Name: "averyveryverylongname"}), 15)
}

func TestParseTasksKeepsTheOverlayAddress(t *testing.T) {
	data := []byte(`[
	 {"ID":"t2","NodeID":"n2","Slot":2,"DesiredState":"running","Status":{"State":"running","ContainerStatus":{"ContainerID":"c2"}},
	  "Spec":{"ContainerSpec":{"Image":"app:v1"}},
	  "NetworksAttachments":[{"Network":{"Spec":{"Name":"ingress"}},"Addresses":["10.149.0.5/24"]},
	                         {"Network":{"Spec":{"Name":"p-overlay"}},"Addresses":["10.149.1.7/24"]}]},
	 {"ID":"t1","NodeID":"n1","Slot":1,"DesiredState":"running","Status":{"State":"starting"},
	  "Spec":{"ContainerSpec":{"Image":"app:v1"}},"NetworksAttachments":null}
	]`)
	tasks, err := parseTasks(data, "p-overlay")
	require.NoError(t, err)
	assert.Equal(t, []Task{
		{ID: "t1", NodeID: "n1", Slot: 1, State: "starting", DesiredState: "running", Image: "app:v1"},
		{ID: "t2", NodeID: "n2", Slot: 2, State: "running", DesiredState: "running", Image: "app:v1", ContainerID: "c2", Addr: "10.149.1.7"},
	}, tasks)

	_, err = parseTasks([]byte(`[{"ID":"t","NetworksAttachments":[{"Network":{"Spec":{"Name":"o"}},"Addresses":["nonsense"]}]}]`), "o")
	assert.Error(t, err)
}

func TestRouteYAMLIsTraefiksFileProviderShape(t *testing.T) {
	var cfg struct {
		HTTP struct {
			Routers map[string]struct {
				Rule        string   `yaml:"rule"`
				EntryPoints []string `yaml:"entryPoints"`
				Service     string   `yaml:"service"`
			} `yaml:"routers"`
			Services map[string]struct {
				LoadBalancer struct {
					Servers []struct {
						URL string `yaml:"url"`
					} `yaml:"servers"`
				} `yaml:"loadBalancer"`
			} `yaml:"services"`
		} `yaml:"http"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(routeYAML("web", "web.test", []string{"10.149.1.7", "10.149.1.8"}, 8080)), &cfg))
	r := cfg.HTTP.Routers["web"]
	assert.Equal(t, "Host(`web.test`)", r.Rule)
	assert.Equal(t, []string{"web"}, r.EntryPoints)
	assert.Equal(t, "web", r.Service)
	servers := cfg.HTTP.Services["web"].LoadBalancer.Servers
	require.Len(t, servers, 2)
	assert.Equal(t, "http://10.149.1.7:8080", servers[0].URL)
	assert.Equal(t, "http://10.149.1.8:8080", servers[1].URL)
}
