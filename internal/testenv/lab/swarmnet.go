package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// The Swarm's nodes are joined to this namespace by veth pairs on /30s of
// 10.150.0.0 to 10.199.255.255. Other tests use 10.200 to 10.249 for
// their Engines of their own, so the two never take each other's subnet.
const (
	swarmVethFirst = 150
	swarmVethCount = 50
)

// swarmAddrPool is the Swarm's --default-addr-pool, where the overlay
// networks' subnets (ingress included) come from. Swarm's default,
// 10.0.0.0/8, would cover the veth addresses, and a node would then route
// another node's address into an overlay. The pool lives only inside the
// nodes' namespaces, so every Swarm of every test can use the same one.
const (
	swarmAddrPool     = "10.149.0.0/16"
	swarmAddrPoolMask = "24"
)

// pickSubnets picks n distinct /30s of the Swarm range, as the two middle
// octets of 10.a.b.0/30, drawing from random and skipping those inUse says
// this machine already has an address in. It gives up after a bounded
// number of draws, so that a full range is an error and not a hang.
func pickSubnets(n int, random func() [2]byte, inUse func([2]byte) bool) ([][2]byte, error) {
	var picked [][2]byte
	taken := map[[2]byte]bool{}
	for draws := 0; len(picked) < n; draws++ {
		if draws >= 100*n {
			return nil, fmt.Errorf("no free /30 in 10.%d-%d.x.x for %d nodes after %d draws", swarmVethFirst, swarmVethFirst+swarmVethCount-1, n, draws)
		}
		r := random()
		o := [2]byte{swarmVethFirst + r[0]%swarmVethCount, r[1]}
		if taken[o] || inUse(o) {
			continue
		}
		taken[o] = true
		picked = append(picked, o)
	}
	return picked, nil
}

// subnetInUse reports whether any interface of this namespace has an
// address in 10.a.b.0/24 (wider than the /30 the Engine would take, so that
// a neighbour's /30 in the same /24 is avoided too).
func subnetInUse(o [2]byte) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip := ipn.IP.To4(); ip != nil && ip[0] == 10 && ip[1] == o[0] && ip[2] == o[1] {
			return true
		}
	}
	return false
}

// subnetOf returns the /30 of an Engine's veth pair, in CIDR form.
func subnetOf(e *OwnEngine) string {
	ip := net.ParseIP(e.NSIP).To4()
	if ip == nil {
		return e.NSIP + "/32"
	}
	return fmt.Sprintf("%d.%d.%d.%d/30", ip[0], ip[1], ip[2], ip[3]&^3)
}

// hostVeth is the name of an Engine's veth end in this namespace, as
// StartOwnEngine names it.
func hostVeth(e *OwnEngine) string {
	name := "vh" + e.Name
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

// forwardRules are the iptables FORWARD rules that let the nodes reach each
// other through this namespace: ACCEPT from every node's veth to every
// other's, and nothing else (the nodes have no route beyond each other).
// The machine's Engine sets the FORWARD policy to DROP. Each rule carries
// comment, so that a rule left by a crashed run can be told apart.
func forwardRules(veths []string, comment string) [][]string {
	var rules [][]string
	for _, in := range veths {
		for _, out := range veths {
			if in == out {
				continue
			}
			rules = append(rules, []string{"FORWARD", "-i", in, "-o", out, "-m", "comment", "--comment", comment, "-j", "ACCEPT"})
		}
	}
	return rules
}

// nodeRoutes are the commands that give each node a route to every other
// node's /30 through its own veth's far end (this namespace).
func nodeRoutes(nodes []*OwnEngine) [][]string {
	var cmds [][]string
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			cmds = append(cmds, []string{"ip", "netns", "exec", from.Name, "ip", "route", "add", subnetOf(to), "via", from.HostIP})
		}
	}
	return cmds
}

// connectNodes adds the routes and FORWARD rules between the nodes; the
// rules added are remembered in s.rules for Close, also when a later one
// fails.
func (s *Swarm) connectNodes(ctx context.Context) error {
	for _, c := range nodeRoutes(s.Nodes) {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("starting swarm: %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	var veths []string
	for _, n := range s.Nodes {
		veths = append(veths, hostVeth(n))
	}
	for _, r := range forwardRules(veths, "dswaplab "+s.Prefix) {
		args := append([]string{"-w", "-I"}, r...)
		if out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("starting swarm: iptables %s: %v: %s", strings.Join(args, " "), err, out)
		}
		s.rules = append(s.rules, r)
	}
	return nil
}

// disconnectNodes deletes the FORWARD rules connectNodes added. The routes
// go with the namespaces.
func (s *Swarm) disconnectNodes() error {
	var errs []error
	for _, r := range s.rules {
		args := append([]string{"-w", "-D"}, r...)
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("closing swarm: iptables %s: %v: %s", strings.Join(args, " "), err, out))
		}
	}
	s.rules = nil
	return errors.Join(errs...)
}
