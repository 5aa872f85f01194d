package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/dswap-dev/dswap/dockercli"
)

// pluginBinary is dswap's name as a docker CLI plugin, in a cli-plugins
// directory (scripts/install-plugin.sh puts it there).
const pluginBinary = "docker-swap"

// pluginCall is what a run as the docker CLI plugin comes to: the
// arguments dswap runs with, and the DOCKER_* variables that make its
// Engine client talk to the docker CLI's current context.
type pluginCall struct {
	args []string
	env  map[string]string
}

// asPlugin tells whether dswap runs as the docker CLI plugin and, if so,
// answers the metadata call on stdout (done is true) or returns the call.
// The docker CLI runs a plugin with its own whole command line: its global
// options, the plugin's name, then the plugin's arguments. It resolves no
// context for the plugin, so the plugin reads --context, --host, --config,
// DOCKER_HOST, DOCKER_CONTEXT and the context store itself.
func asPlugin(argv0 string, args []string, env dockercli.Env, stdout io.Writer) (call *pluginCall, done bool, err error) {
	isMetadata := len(args) == 1 && args[0] == dockercli.MetadataCommand
	if filepath.Base(argv0) != pluginBinary && !isMetadata {
		return nil, false, nil
	}
	if isMetadata {
		b, err := json.Marshal(dockercli.NewMetadata(currentBuild().Version))
		if err != nil {
			return nil, true, err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return nil, true, err
	}
	global, rest, err := dockercli.SplitPluginArgs(args)
	if err != nil {
		return nil, true, usagef("%v", err)
	}
	env.Options = global
	ep, err := dockercli.Resolve(env)
	if err != nil {
		return nil, true, usagef("%v", err)
	}
	return &pluginCall{args: rest, env: ep.Environ()}, false, nil
}
