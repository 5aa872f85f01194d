package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Task is one Swarm task as a test looks at it.
type Task struct {
	ID           string
	NodeID       string
	Slot         int
	State        string // Status.State: "running", "starting", "shutdown", ...
	DesiredState string // "running", "shutdown", ...
	Image        string
	ContainerID  string // the task's container on its node, once it has one
	Addr         string // its address on the Swarm's overlay network, without the mask
}

// Tasks lists a service's tasks whose desired state is running, with their
// addresses on the Swarm's overlay network, sorted by slot.
func (s *Swarm) Tasks(ctx context.Context, service string) ([]Task, error) {
	ids, err := s.dockerOut(ctx, s.Manager, "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service)
	if err != nil {
		return nil, fmt.Errorf("listing tasks of %s: %w", service, err)
	}
	if ids == "" {
		return nil, nil
	}
	out, err := s.dockerOut(ctx, s.Manager, append([]string{"inspect", "--type", "task"}, strings.Fields(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("inspecting tasks of %s: %w", service, err)
	}
	return parseTasks([]byte(out), s.Network)
}

// RunningAddrs returns the overlay addresses of a service's tasks that run
// and are meant to, by slot.
func (s *Swarm) RunningAddrs(ctx context.Context, service string) ([]string, error) {
	tasks, err := s.Tasks(ctx, service)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, t := range tasks {
		if t.State == "running" && t.Addr != "" {
			addrs = append(addrs, t.Addr)
		}
	}
	return addrs, nil
}

// taskJSON is the part of `docker inspect --type task` that Task needs.
type taskJSON struct {
	ID           string
	NodeID       string
	Slot         int
	DesiredState string
	Status       struct {
		State           string
		ContainerStatus *struct{ ContainerID string }
	}
	Spec struct {
		ContainerSpec struct{ Image string }
	}
	NetworksAttachments []struct {
		Network struct {
			Spec struct{ Name string }
		}
		Addresses []string
	}
}

// parseTasks reads `docker inspect` of tasks, keeping each task's address
// on network.
func parseTasks(data []byte, network string) ([]Task, error) {
	var raw []taskJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("reading docker inspect of tasks: %w", err)
	}
	tasks := make([]Task, 0, len(raw))
	for _, r := range raw {
		t := Task{ID: r.ID, NodeID: r.NodeID, Slot: r.Slot, State: r.Status.State, DesiredState: r.DesiredState, Image: r.Spec.ContainerSpec.Image}
		if cs := r.Status.ContainerStatus; cs != nil {
			t.ContainerID = cs.ContainerID
		}
		for _, a := range r.NetworksAttachments {
			if a.Network.Spec.Name != network || len(a.Addresses) == 0 {
				continue
			}
			ip, _, err := net.ParseCIDR(a.Addresses[0])
			if err != nil {
				return nil, fmt.Errorf("task %s: address %q on %s: %w", r.ID, a.Addresses[0], network, err)
			}
			t.Addr = ip.String()
		}
		tasks = append(tasks, t)
	}
	sort.Slice(tasks, func(i, j int) bool {
		if tasks[i].Slot != tasks[j].Slot {
			return tasks[i].Slot < tasks[j].Slot
		}
		return tasks[i].ID < tasks[j].ID
	})
	return tasks, nil
}

// WriteRoute writes a file-provider route for Traefik: a router on Host(host)
// at the web entrypoint to a service of the given servers (http://addr:port),
// renamed into RoutesDir from a file written beside it (DESIGN.md: a file
// written in place can be read half-written).
func (s *Swarm) WriteRoute(name, host string, addrs []string, port int) error {
	return writeRouteFile(s.RoutesDir, s.dir, name, routeYAML(name, host, addrs, port))
}

// routeYAML renders a one-router, one-service dynamic configuration.
func routeYAML(name, host string, addrs []string, port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "http:\n  routers:\n    %s:\n      rule: \"Host(`%s`)\"\n      entryPoints: [web]\n      service: %s\n", name, host, name)
	fmt.Fprintf(&b, "  services:\n    %s:\n      loadBalancer:\n        servers:\n", name)
	for _, a := range addrs {
		fmt.Fprintf(&b, "          - url: \"http://%s\"\n", net.JoinHostPort(a, fmt.Sprint(port)))
	}
	return b.String()
}

// writeRouteFile writes content to tmpDir and renames it into dir as
// name.yml, so that Traefik's watcher sees one complete file.
func writeRouteFile(dir, tmpDir, name, content string) error {
	tmp, err := os.CreateTemp(tmpDir, name+"-*.yml")
	if err != nil {
		return fmt.Errorf("writing route %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing route %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing route %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing route %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name+".yml")); err != nil {
		return fmt.Errorf("writing route %s: %w", name, err)
	}
	return nil
}
