package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Connections counts the established TCP connections a container holds on
// a port, from the kernel's socket tables of its network namespace.
//
// Why /proc/<pid>/net/tcp{,6}: the files list every TCP socket of the
// network namespace the process is in, which for a container is its own,
// so the count is exact (the same table ss reads) and costs one small file
// read per family, cheap enough to poll every few hundred milliseconds. The
// alternatives are worse: exec-ing ss or netstat in the container fails on
// images FROM scratch and costs a process per look; nsenter needs a tool
// on the host and the same privileges; the host's conntrack table sees only
// NATed flows (not Traefik's connections over a bridge network without
// NAT) and depends on a kernel module; Traefik's own metrics count open
// connections per entrypoint, not per server. Reading another process's
// /proc/<pid>/net needs dswap on the host as root, or, in a container, the
// host's /proc mounted (see ProcRoot).
type Connections struct {
	// ProcRoot is where the host's /proc is mounted: "/proc" on the host,
	// e.g. "/host/proc" in a sidecar started with -v /proc:/host/proc:ro.
	ProcRoot string
}

// tcpEstablished is the kernel's code for TCP_ESTABLISHED in the st column.
const tcpEstablished = "01"

// Established counts the established connections whose local port is port
// in the network namespace of the process pid.
func (c Connections) Established(pid, port int) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("no process to look at (pid %d): the container does not run", pid)
	}
	root := c.ProcRoot
	if root == "" {
		root = "/proc"
	}
	total := 0
	found := false
	for _, family := range []string{"tcp", "tcp6"} {
		path := filepath.Join(root, strconv.Itoa(pid), "net", family)
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && family == "tcp6" {
			continue // a kernel without IPv6
		}
		if err != nil {
			return 0, fmt.Errorf("reading the container's TCP sockets from %s (dswap needs the host's /proc, as root): %w", path, err)
		}
		n, err := countEstablished(f, port)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", path, err)
		}
		total += n
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no TCP socket table under %s/%d/net", root, pid)
	}
	return total, nil
}

// countEstablished counts the lines of a /proc/net/tcp{,6} table whose
// local port is port and whose state is established. Each line reads
// "sl local_address rem_address st ...", addresses as HEXIP:HEXPORT.
func countEstablished(r io.Reader, port int) (int, error) {
	sc := bufio.NewScanner(r)
	n := 0
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != tcpEstablished {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			return 0, fmt.Errorf("local address %q: %w", fields[1], err)
		}
		if int(p) == port {
			n++
		}
	}
	return n, sc.Err()
}
