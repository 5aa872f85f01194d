package engine

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountEstablished(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0200120A:1F90 0300120A:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0200120A:1F90 0300120A:D2F2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0200120A:1F90 0300120A:D2F4 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
   4: 0200120A:D2F0 0300120A:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
`
	n, err := countEstablished(strings.NewReader(table), 8080)
	require.NoError(t, err)
	// The listener, the TIME_WAIT and the outgoing connection to a remote
	// 8080 do not count.
	assert.Equal(t, 2, n)
}

// TestEstablishedOwnProcess counts real connections in this process's own
// network namespace: the table format is the kernel's, not a fixture's.
func TestEstablishedOwnProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	conns := Connections{}
	n, err := conns.Established(os.Getpid(), port)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	n, err = conns.Established(os.Getpid(), port)
	require.NoError(t, err)
	// Each connection shows once per end; only the server's end has the
	// listening port as its local port.
	assert.Equal(t, 3, n)
	for _, c := range clients {
		c.Close()
	}
}
