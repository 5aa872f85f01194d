package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, network, addr string }{
		{"127.0.0.1:7070", "tcp", "127.0.0.1:7070"},
		{":7070", "tcp", ":7070"},
		{"tcp://0.0.0.0:7070", "tcp", "0.0.0.0:7070"},
		{"[::1]:7070", "tcp", "[::1]:7070"},
		{"unix:///run/dswap.sock", "unix", "/run/dswap.sock"},
	} {
		a, err := ParseAddress(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.network, a.Network, tc.in)
		assert.Equal(t, tc.addr, a.Addr, tc.in)
	}
	for _, bad := range []string{"", "7070", "unix://", "unix://relative.sock", "http://127.0.0.1:7070", "localhost"} {
		_, err := ParseAddress(bad)
		assert.Error(t, err, bad)
	}
}

func TestNewClientAddresses(t *testing.T) {
	for in, base := range map[string]string{
		"http://127.0.0.1:7070/": "http://127.0.0.1:7070",
		"https://dswap.internal": "https://dswap.internal",
		"127.0.0.1:7070":         "http://127.0.0.1:7070",
		"tcp://127.0.0.1:7070":   "http://127.0.0.1:7070",
		"unix:///run/dswap.sock": "http://dswap",
	} {
		c, err := NewClient(in, "t")
		require.NoError(t, err, in)
		assert.Equal(t, base, c.base, in)
	}
	for _, bad := range []string{"ftp://x", "http://", "nohost"} {
		_, err := NewClient(bad, "t")
		assert.Error(t, err, bad)
	}
}
