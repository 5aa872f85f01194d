package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/labels"
)

type fixedVersion struct {
	version string
	err     error
}

func (f fixedVersion) Version(context.Context) (string, error) { return f.version, f.err }

func TestTraefikVersion(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		env     string
		api     versionReader
		want    labels.TraefikVersion
		wantErr string
		wantLog string
	}{
		{name: "from the API", api: fixedVersion{version: "v2.11.53"}, want: labels.TraefikVersion{Major: 2, Minor: 11, Patch: 53}},
		{name: "flag wins over the API", flag: "3.6", api: fixedVersion{version: "v2.11.53"}, want: labels.TraefikVersion{Major: 3, Minor: 6}, wantLog: "another version"},
		{name: "environment", env: "v2.11.40", want: labels.TraefikVersion{Major: 2, Minor: 11, Patch: 40}},
		{name: "malformed flag", flag: "two", wantErr: "--traefik-version"},
		{name: "build without a version", api: fixedVersion{version: "dev"}, wantLog: "reports no release version"},
		{name: "API error", api: fixedVersion{err: errors.New("boom")}, wantLog: "could not read"},
		{name: "no API", wantLog: "no Traefik API"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			unsetenv(t, "DSWAP_TRAEFIK_VERSION")
			if tc.env != "" {
				t.Setenv("DSWAP_TRAEFIK_VERSION", tc.env)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			connectionFlags(fs)
			if tc.flag != "" {
				require.NoError(t, fs.Set("traefik-version", tc.flag))
			}
			var logs bytes.Buffer
			got, err := traefikVersion(t.Context(), givenValue(fs, "traefik-version"), tc.api, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, errUsage)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Contains(t, logs.String(), tc.wantLog)
		})
	}
}
