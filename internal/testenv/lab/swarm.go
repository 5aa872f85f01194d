package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// SwarmOptions configures StartSwarm.
type SwarmOptions struct {
	// Nodes is how many Engines form the Swarm (at least 1); the first is
	// the manager, the others join as workers.
	Nodes int
	// Prefix names everything the Swarm creates (namespaces, Engines'
	// containerd namespaces, networks, Traefik); short, since veth names
	// derive from it. Empty picks "dsw" and six random hex digits.
	Prefix string
	// TraefikBin is the static Traefik v3 binary (TraefikBinFromEnv).
	TraefikBin string
	// TraefikArgs are appended to Traefik's command line.
	TraefikArgs []string
	// SwarmProvider also turns on Traefik's swarm provider, the way most
	// Swarm users run Traefik: the manager's Docker socket is mounted into
	// Traefik's container, services opt in with traefik.enable=true and
	// are reached over the Swarm's overlay network. Traefik polls every
	// 15 s (its default refreshSeconds) unless TraefikArgs say otherwise.
	SwarmProvider bool
	// Images are tags of the machine's Engine loaded into every node
	// (docker save, then docker load on each node). BuildApp builds test
	// app images on the nodes directly, leaving the machine's Engine alone.
	Images []string
	// Registry starts a registry of the Swarm's own (RegistryBin) in the
	// manager's namespace, at <manager's address>:5000, without TLS or
	// login, and starts every node's Engine with --insecure-registry for
	// it: images pushed there (PushApp) are pulled by the nodes that run
	// their tasks, and `docker service create`, `docker stack deploy` and
	// dswap pin them by digest, as with any registry. Close stops it and
	// removes its storage.
	Registry bool
	// RegistryBin is the static registry binary (RegistryBinFromEnv);
	// required with Registry.
	RegistryBin string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Swarm is a Docker Swarm of Engines of a test's own, each a separate host
// in a network namespace of its own (see OwnEngine), with an attachable
// overlay network and a Traefik container on the manager attached to it.
// Traefik's file provider watches RoutesDir, a directory of this machine.
type Swarm struct {
	Prefix    string
	Nodes     []*OwnEngine
	NodeIDs   []string // Swarm node IDs, by index of Nodes
	Manager   *OwnEngine
	Network   string // the attachable overlay network Traefik is on
	RoutesDir string // bind-mounted into Traefik at /routes
	// TraefikName is Traefik's container on the manager.
	TraefikName string
	// TraefikAPI is Traefik's API (http://<manager's address>:8080),
	// reachable from this namespace.
	TraefikAPI string
	// EntryDirect is Traefik's web entrypoint at the manager's address.
	EntryDirect string
	// Entry is the web entrypoint through a forwarder on 127.0.0.1, for
	// the load generator, which sends only to 127.0.0.1.
	Entry string
	// Registry is the host:port of the Swarm's registry (the registry
	// part of its image references, see RegistryRef); "" without one.
	Registry string

	dir      string
	rules    [][]string
	forward  *Forwarder
	registry *swarmRegistry
	log      io.Writer
	closed   bool
}

// swarmReadyTimeout bounds the wait for every node to be Ready.
const swarmReadyTimeout = 2 * time.Minute

// StartSwarm starts opts.Nodes Engines, forms a Swarm of them (the first
// the manager, advertising its veth address), connects them, creates the
// overlay network, loads opts.Images into every node and starts Traefik on
// the manager. On failure it undoes what it did, as Close does.
func StartSwarm(ctx context.Context, opts SwarmOptions) (*Swarm, error) {
	if opts.Nodes < 1 {
		return nil, fmt.Errorf("starting swarm: Nodes=%d: want at least 1", opts.Nodes)
	}
	if opts.TraefikBin == "" {
		return nil, fmt.Errorf("starting swarm: no traefik binary given; set %s to a static traefik binary", TraefikBinEnv)
	}
	if opts.Registry && opts.RegistryBin == "" {
		return nil, fmt.Errorf("starting swarm: a registry was asked for but no registry binary given; run scripts/tools.sh and set %s", RegistryBinEnv)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "dsw" + randomHex(3)
	}
	if !prefixPattern.MatchString(prefix) || len(prefix) > 10 {
		return nil, fmt.Errorf("starting swarm: prefix %q must match %s and be at most 10 characters (veth names derive from it)", prefix, prefixPattern)
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	dir, err := os.MkdirTemp("", "dswap-swarm-"+prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("starting swarm: %w", err)
	}
	s := &Swarm{
		Prefix:      prefix,
		Network:     prefix + "-overlay",
		RoutesDir:   filepath.Join(dir, "routes"),
		TraefikName: prefix + "-traefik",
		dir:         dir,
		log:         logw,
	}
	if err := s.setUp(ctx, opts); err != nil {
		if cerr := s.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", cerr))
		}
		return nil, err
	}
	return s, nil
}

func (s *Swarm) setUp(ctx context.Context, opts SwarmOptions) error {
	subnets, err := pickSubnets(opts.Nodes, randomOctets, subnetInUse)
	if err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	var dockerdArgs []string
	if opts.Registry {
		// The manager is the first node; its namespace's address is
		// known before its Engine starts.
		s.Registry = engineNSIP(subnets[0]) + ":" + swarmRegistryPort
		dockerdArgs = insecureRegistryArgs(s.Registry)
	}
	for i, o := range subnets {
		name := fmt.Sprintf("%s-%d", s.Prefix, i)
		nodeDir := filepath.Join(s.dir, fmt.Sprintf("node%d", i))
		if err := os.Mkdir(nodeDir, 0o700); err != nil {
			return fmt.Errorf("starting swarm: %w", err)
		}
		s.logf("starting Engine %s at 10.%d.%d.2", name, o[0], o[1])
		e, err := StartOwnEngine(ctx, name, nodeDir, o, dockerdArgs...)
		if e != nil {
			s.Nodes = append(s.Nodes, e)
		}
		if err != nil {
			return fmt.Errorf("starting swarm: node %d: %w", i, err)
		}
	}
	s.Manager = s.Nodes[0]
	if opts.Registry {
		s.logf("starting the registry at %s in the manager's namespace", s.Registry)
		r, err := startSwarmRegistry(ctx, opts.RegistryBin, s.Manager, s.Registry, filepath.Join(s.dir, "registry"))
		if err != nil {
			return fmt.Errorf("starting swarm: %w", err)
		}
		s.registry = r
	}
	if err := s.connectNodes(ctx); err != nil {
		return err
	}
	if err := s.formSwarm(ctx); err != nil {
		return err
	}
	if _, err := s.dockerOut(ctx, s.Manager, "network", "create", "--driver", "overlay", "--attachable",
		"--label", LabelKey+"="+s.Prefix, s.Network); err != nil {
		return fmt.Errorf("starting swarm: creating overlay network: %w", err)
	}
	if err := s.loadImages(ctx, opts.Images); err != nil {
		return err
	}
	if err := os.Mkdir(s.RoutesDir, 0o755); err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	return s.startTraefik(ctx, opts)
}

// formSwarm inits the Swarm on the manager and joins the others as workers,
// each advertising its own veth address, then waits until all are Ready.
func (s *Swarm) formSwarm(ctx context.Context) error {
	m := s.Manager
	s.logf("swarm init on %s", m.NSIP)
	if _, err := s.dockerOut(ctx, m, "swarm", "init",
		"--advertise-addr", m.NSIP, "--listen-addr", m.NSIP+":2377",
		"--default-addr-pool", swarmAddrPool, "--default-addr-pool-mask-length", swarmAddrPoolMask); err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	token, err := s.dockerOut(ctx, m, "swarm", "join-token", "-q", "worker")
	if err != nil {
		return fmt.Errorf("starting swarm: %w", err)
	}
	for _, w := range s.Nodes[1:] {
		s.logf("swarm join of %s", w.NSIP)
		if _, err := s.dockerOut(ctx, w, "swarm", "join", "--token", token,
			"--advertise-addr", w.NSIP, "--listen-addr", w.NSIP+":2377", m.NSIP+":2377"); err != nil {
			return fmt.Errorf("starting swarm: %w", err)
		}
	}
	for _, n := range s.Nodes {
		id, err := s.dockerOut(ctx, n, "info", "--format", "{{.Swarm.NodeID}}")
		if err != nil {
			return fmt.Errorf("starting swarm: %w", err)
		}
		s.NodeIDs = append(s.NodeIDs, id)
	}
	readyCtx, cancel := context.WithTimeout(ctx, swarmReadyTimeout)
	defer cancel()
	return pollUntil(readyCtx, 250*time.Millisecond, func(ctx context.Context) (error, error) {
		out, err := s.dockerOut(ctx, m, "node", "ls", "--format", "{{.ID}} {{.Status}} {{.Availability}}")
		if err != nil {
			return err, nil
		}
		if n := strings.Count(out, " Ready Active"); n < len(s.Nodes) {
			return fmt.Errorf("%d of %d nodes Ready:\n%s", n, len(s.Nodes), out), nil
		}
		return nil, nil
	})
}

// loadImages saves the machine Engine's images once and loads them into
// every node.
func (s *Swarm) loadImages(ctx context.Context, images []string) error {
	if len(images) == 0 {
		return nil
	}
	tar := filepath.Join(s.dir, "images.tar")
	defer os.Remove(tar)
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"save", "-o", tar}, images...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("starting swarm: docker save %s: %v: %s", strings.Join(images, " "), err, out)
	}
	for _, n := range s.Nodes {
		if _, err := s.dockerOut(ctx, n, "load", "-q", "-i", tar); err != nil {
			return fmt.Errorf("starting swarm: %w", err)
		}
	}
	return nil
}

// Docker is the docker CLI against the manager.
func (s *Swarm) Docker(ctx context.Context, args ...string) *exec.Cmd {
	return s.DockerOn(ctx, s.Manager, args...)
}

// DockerOn is the docker CLI against one node.
func (s *Swarm) DockerOn(ctx context.Context, n *OwnEngine, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "docker", append([]string{"-H", n.Socket}, args...)...)
}

// dockerOut runs the docker CLI on a node and returns its trimmed output,
// or an error quoting the command and its output.
func (s *Swarm) dockerOut(ctx context.Context, n *OwnEngine, args ...string) (string, error) {
	out, err := s.DockerOn(ctx, n, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker -H %s %s: %v: %s", n.Socket, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// StopNode stops node i's Engine (its tasks' containers stop with it), as
// a host going down would. The manager (node 0) cannot be stopped: the
// Swarm has one manager.
func (s *Swarm) StopNode(i int) error {
	if i <= 0 || i >= len(s.Nodes) {
		return fmt.Errorf("stopping node %d: want a worker, 1 to %d", i, len(s.Nodes)-1)
	}
	s.logf("stopping node %d (%s)", i, s.Nodes[i].NSIP)
	return s.Nodes[i].Stop()
}

// StartNode starts node i's Engine again; it rejoins the Swarm by itself.
func (s *Swarm) StartNode(ctx context.Context, i int) error {
	if i <= 0 || i >= len(s.Nodes) {
		return fmt.Errorf("starting node %d: want a worker, 1 to %d", i, len(s.Nodes)-1)
	}
	s.logf("starting node %d (%s)", i, s.Nodes[i].NSIP)
	return s.Nodes[i].Start(ctx)
}

// NodeIndex returns the index in Nodes of a Swarm node ID, or -1.
func (s *Swarm) NodeIndex(id string) int {
	for i, n := range s.NodeIDs {
		if n == id {
			return i
		}
	}
	return -1
}

// Close removes the services, Traefik and networks, stops the registry,
// makes every node leave the Swarm, stops the Engines, deletes their namespaces (and veths) and
// mounts, the FORWARD rules and every file. It keeps going after an error
// and returns all of them. Calling it again does nothing.
func (s *Swarm) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	if s.forward != nil {
		if err := s.forward.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing swarm: forwarder: %w", err))
		}
	}
	if s.registry != nil {
		// Before the namespaces go: a process left in the manager's
		// namespace would keep it, and its veth, alive.
		if err := s.registry.stop(); err != nil {
			errs = append(errs, fmt.Errorf("closing swarm: %w", err))
		}
	}
	if s.Manager != nil {
		// Removing the services first lets each Engine stop with no task
		// to stop, and the leaves below be quick. Errors here are not
		// fatal: the Engines and their data go anyway.
		if ids, err := s.dockerOut(ctx, s.Manager, "service", "ls", "-q"); err == nil && ids != "" {
			if _, err := s.dockerOut(ctx, s.Manager, append([]string{"service", "rm"}, strings.Fields(ids)...)...); err != nil {
				s.logf("%v", err)
			}
		}
		if _, err := s.dockerOut(ctx, s.Manager, "rm", "-f", s.TraefikName); err != nil && !strings.Contains(err.Error(), "No such container") {
			s.logf("%v", err)
		}
	}
	for i := len(s.Nodes) - 1; i >= 0; i-- {
		n := s.Nodes[i]
		args := []string{"swarm", "leave"}
		if i == 0 {
			args = append(args, "--force")
		}
		leaveCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := s.dockerOut(leaveCtx, n, args...); err != nil && !strings.Contains(err.Error(), "not part of a swarm") {
			s.logf("node %d: %v", i, err)
		}
		cancel()
	}
	for i := len(s.Nodes) - 1; i >= 0; i-- {
		if err := s.Nodes[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing swarm: node %d: %w", i, err))
		}
	}
	if err := s.disconnectNodes(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("closing swarm: removing %s: %w", s.dir, err))
	}
	s.logf("closed swarm %s", s.Prefix)
	return errors.Join(errs...)
}

func (s *Swarm) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "swarm: "+format+"\n", args...)
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomOctets() [2]byte {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return b
}
