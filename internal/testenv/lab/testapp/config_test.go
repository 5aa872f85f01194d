package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envOf turns a map into a getenv function so tests never touch the
// process environment.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseSigtermPolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    sigtermPolicy
		wantErr string
	}{
		{in: "", want: sigtermPolicy{Mode: sigtermClose}},
		{in: "close", want: sigtermPolicy{Mode: sigtermClose}},
		{in: "ignore", want: sigtermPolicy{Mode: sigtermIgnore}},
		{in: "linger:2s", want: sigtermPolicy{Mode: sigtermLinger, Linger: 2 * time.Second}},
		{in: "linger=150ms", want: sigtermPolicy{Mode: sigtermLinger, Linger: 150 * time.Millisecond}},
		{in: "linger:", wantErr: "linger duration"},
		{in: "linger:-1s", wantErr: "must not be negative"},
		{in: "linger", wantErr: "want close, ignore or linger:DURATION"},
		{in: "kill", wantErr: "want close, ignore or linger:DURATION"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSigtermPolicy(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSigtermPolicyStringRoundTrips(t *testing.T) {
	for _, in := range []string{"close", "ignore", "linger:2s"} {
		p, err := parseSigtermPolicy(in)
		require.NoError(t, err)
		assert.Equal(t, in, p.String())
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: config{Port: "8080", ShutdownTimeout: defaultShutdownTimeout},
		},
		{
			name: "everything set",
			env: map[string]string{
				"PORT": "9090", "VERSION": "v2", "DELAY": "3s", "READY_AFTER": "1s",
				"NEVER_HEALTHY": "1", "CRASH_AFTER": "2s", "ON_SIGTERM": "linger:5s",
			},
			want: config{
				Port: "9090", Version: "v2", Delay: 3 * time.Second, ReadyAfter: time.Second,
				NeverHealthy: true, CrashAfter: 2 * time.Second,
				OnSigterm:       sigtermPolicy{Mode: sigtermLinger, Linger: 5 * time.Second},
				ShutdownTimeout: defaultShutdownTimeout,
			},
		},
		{
			name: "NEVER_HEALTHY only counts when exactly 1",
			env:  map[string]string{"NEVER_HEALTHY": "true"},
			want: config{Port: "8080", ShutdownTimeout: defaultShutdownTimeout},
		},
		{name: "bad port", env: map[string]string{"PORT": "http"}, wantErr: "PORT"},
		{name: "port out of range", env: map[string]string{"PORT": "70000"}, wantErr: "PORT"},
		{name: "bad delay", env: map[string]string{"DELAY": "3"}, wantErr: "DELAY"},
		{name: "negative ready", env: map[string]string{"READY_AFTER": "-1s"}, wantErr: "READY_AFTER"},
		{name: "bad crash", env: map[string]string{"CRASH_AFTER": "soon"}, wantErr: "CRASH_AFTER"},
		{name: "bad sigterm", env: map[string]string{"ON_SIGTERM": "die"}, wantErr: "ON_SIGTERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(envOf(tt.env))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
