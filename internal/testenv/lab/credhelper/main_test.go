package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGet(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds.json")
	require.NoError(t, os.WriteFile(creds, []byte(`{"127.0.0.1:5000": {"Username": "u", "Secret": "s"}}`), 0o600))
	logPath := filepath.Join(dir, "asked")
	t.Setenv("DSWAPTEST_CREDENTIALS", creds)
	t.Setenv("DSWAPTEST_CREDHELPER_LOG", logPath)

	var out bytes.Buffer
	require.NoError(t, get(strings.NewReader("127.0.0.1:5000"), &out))
	var got login
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, login{ServerURL: "127.0.0.1:5000", Username: "u", Secret: "s"}, got)

	err := get(strings.NewReader("ghcr.io"), &out)
	assert.EqualError(t, err, "credentials not found in native keychain", "the protocol's not-found message")

	asked, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:5000\nghcr.io\n", string(asked))
}
