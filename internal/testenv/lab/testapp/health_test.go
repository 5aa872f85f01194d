package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckHealth(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr string
	}{
		{name: "healthy", status: http.StatusOK},
		{name: "not ready", status: http.StatusServiceUnavailable, wantErr: "503 Service Unavailable: not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/healthz", r.URL.Path)
				if tt.status != http.StatusOK {
					http.Error(w, "not ready", tt.status)
					return
				}
				_, _ = w.Write([]byte("ok"))
			}))
			defer srv.Close()
			err := checkHealth(context.Background(), srv.URL+"/healthz")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestCheckHealthTimesOut(t *testing.T) {
	svc := newService(config{}, "h", time.Now())
	srv := httptest.NewServer(svc.routes())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// The root handler's delay stands in for a health endpoint that hangs.
	err := checkHealth(ctx, srv.URL+"/?delay=5s")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestRunHealthUsesPort(t *testing.T) {
	svc := newService(config{}, "h", time.Now())
	srv := httptest.NewServer(svc.routes())
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)

	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, runHealth(envOf(map[string]string{"PORT": port}), &stdout, &stderr), stderr.String())
	assert.Equal(t, "healthy\n", stdout.String())

	// A port nobody listens on must fail with the reason printed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, freePort, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	stdout.Reset()
	assert.Equal(t, 1, runHealth(envOf(map[string]string{"PORT": freePort}), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "unhealthy: GET http://127.0.0.1:"+freePort+"/healthz")
}
