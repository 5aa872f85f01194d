package main

import (
	"bytes"
	"encoding/json"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/dockercli"
)

func TestAsPlugin(t *testing.T) {
	env := dockercli.Env{Home: t.TempDir(), Getenv: func(k string) string {
		return map[string]string{"DOCKER_HOST": "unix:///run/other.sock"}[k]
	}}

	var out bytes.Buffer
	call, done, err := asPlugin("/usr/local/bin/dswap", []string{"up", "app:v2"}, env, &out)
	require.NoError(t, err)
	assert.Nil(t, call, "dswap under its own name is not a plugin")
	assert.False(t, done)

	call, done, err = asPlugin("/home/u/.docker/cli-plugins/docker-swap", []string{dockercli.MetadataCommand}, env, &out)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Nil(t, call)
	var meta map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &meta))
	assert.Equal(t, "0.1.0", meta["SchemaVersion"])
	assert.NotEmpty(t, meta["Vendor"])
	assert.NotEmpty(t, meta["Version"])
	assert.NotEmpty(t, meta["ShortDescription"])

	call, done, err = asPlugin("docker-swap", []string{"-H", "unix:///run/lab.sock", "swap", "status", "--output", "json"}, env, &out)
	require.NoError(t, err)
	assert.False(t, done)
	require.NotNil(t, call)
	assert.Equal(t, []string{"status", "--output", "json"}, call.args)
	assert.Equal(t, map[string]string{"DOCKER_HOST": "unix:///run/lab.sock"}, call.env)

	_, _, err = asPlugin("docker-swap", []string{"--context", "missing", "swap", "status"}, env, &out)
	require.Error(t, err)
	assert.Equal(t, exitBadInput, exitCode(err))
}

func TestFillBuild(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	b := fillBuild(buildInfo{Version: "dev"}, info)
	assert.Equal(t, buildInfo{Version: "v1.2.0", Commit: "abc123-dirty", GoVersion: "go1.26.8"}, b)
	b = fillBuild(buildInfo{Version: "v9.9.9", Commit: "stamped"}, info)
	assert.Equal(t, "v9.9.9", b.Version, "-ldflags wins")
	assert.Equal(t, "stamped", b.Commit)
	b = fillBuild(buildInfo{Version: "dev"}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	assert.Equal(t, buildInfo{Version: "dev", Commit: "unknown"}, b)
}
