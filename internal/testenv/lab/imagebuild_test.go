package lab

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteBuildContext(t *testing.T) {
	onDisk := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(onDisk, []byte("from disk"), 0o600))

	var buf bytes.Buffer
	require.NoError(t, writeBuildContext(&buf, []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte("FROM scratch\n")},
		{Name: "bin", Mode: 0o755, Path: onDisk},
	}))

	tr := tar.NewReader(&buf)
	got := map[string]string{}
	modes := map[string]int64{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		got[hdr.Name] = string(data)
		modes[hdr.Name] = hdr.Mode
	}
	assert.Equal(t, map[string]string{"Dockerfile": "FROM scratch\n", "bin": "from disk"}, got)
	assert.Equal(t, int64(0o755), modes["bin"])
}

func TestWriteBuildContextMissingFile(t *testing.T) {
	err := writeBuildContext(io.Discard, []contextFile{{Name: "bin", Path: "/nonexistent/traefik"}})
	require.ErrorContains(t, err, "adding bin to build context")
}

func TestReadBuildStream(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		wantID  string
		wantErr []string
		wantLog string
	}{
		{
			name: "success with aux ID",
			stream: `{"stream":"Step 1/2 : FROM scratch\n"}` + "\n" +
				`{"stream":" ---\u003e \n"}` + "\n" +
				`{"aux":{"ID":"sha256:abc"}}` + "\n" +
				`{"stream":"Successfully built abc\n"}`,
			wantID:  "sha256:abc",
			wantLog: "lab: build: Step 1/2 : FROM scratch\n",
		},
		{
			name:   "success without aux",
			stream: `{"stream":"Successfully built 0123abcd\n"}{"stream":"Successfully tagged x:y\n"}`,
			wantID: "0123abcd",
		},
		{
			name: "errorDetail surfaces with context",
			stream: `{"stream":"Step 2/5 : COPY missing /x\n"}` +
				`{"errorDetail":{"message":"COPY failed: file not found"},"error":"COPY failed: file not found"}`,
			wantErr: []string{"COPY failed: file not found", "Step 2/5 : COPY missing /x"},
		},
		{
			name:    "error without detail",
			stream:  `{"error":"something broke"}`,
			wantErr: []string{"something broke"},
		},
		{
			name:    "no ID at all",
			stream:  `{"stream":"Step 1/1 : FROM scratch\n"}`,
			wantErr: []string{"without an image ID"},
		},
		{
			name:    "garbage",
			stream:  `{"stream":`,
			wantErr: []string{"reading build output"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			id, err := readBuildStream(strings.NewReader(tt.stream), &log)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantID, id)
			assert.Contains(t, log.String(), tt.wantLog)
		})
	}
}
