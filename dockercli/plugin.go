package dockercli

import (
	"fmt"
	"strings"
)

// PluginName is the docker subcommand dswap answers as a plugin: the
// binary is docker-swap in a cli-plugins directory.
const PluginName = "swap"

// MetadataCommand is the argument the docker CLI runs every plugin with to
// learn what it is.
const MetadataCommand = "docker-cli-plugin-metadata"

// Metadata is the answer to MetadataCommand.
type Metadata struct {
	SchemaVersion    string `json:"SchemaVersion"`
	Vendor           string `json:"Vendor"`
	Version          string `json:"Version"`
	ShortDescription string `json:"ShortDescription"`
	URL              string `json:"URL,omitempty"`
}

// NewMetadata describes dswap at version.
func NewMetadata(version string) Metadata {
	return Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "dswap",
		Version:          version,
		ShortDescription: "Zero-downtime container swaps behind Traefik",
		URL:              "https://github.com/dswap-dev/dswap",
	}
}

// GlobalOptions are the docker CLI's own options given before the
// plugin's name (`docker --context prod swap up ...`). The CLI passes its
// whole command line to the plugin, so the plugin reads them itself.
type GlobalOptions struct {
	Context string
	Host    string
	Config  string
}

// valueOptions are the docker CLI's global options that take a value;
// the others (--debug, --tls, --tlsverify) are switches.
var valueOptions = map[string]string{
	"-c": "context", "--context": "context",
	"-H": "host", "--host": "host",
	"--config": "config",
	"-l":       "", "--log-level": "",
	"--tlscacert": "", "--tlscert": "", "--tlskey": "",
}

// SplitPluginArgs takes the arguments the docker CLI ran the plugin with
// (docker's global options, the plugin's name, then the plugin's own
// arguments) and returns the global options and the plugin's arguments.
func SplitPluginArgs(args []string) (GlobalOptions, []string, error) {
	var g GlobalOptions
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == PluginName {
			return g, args[i+1:], nil
		}
		if !strings.HasPrefix(a, "-") {
			return g, nil, fmt.Errorf("docker-swap was run with %q where the docker CLI passes %q; run it as `docker swap ...`, or run dswap directly", a, PluginName)
		}
		name, value, hasValue := strings.Cut(a, "=")
		field, takesValue := valueOptions[name]
		if !takesValue {
			continue // a switch such as --debug or --tls
		}
		if !hasValue {
			if i+1 >= len(args) {
				return g, nil, fmt.Errorf("docker option %s needs a value", name)
			}
			i++
			value = args[i]
		}
		switch field {
		case "context":
			g.Context = value
		case "host":
			g.Host = value
		case "config":
			g.Config = value
		}
	}
	return g, nil, fmt.Errorf("docker-swap was run without %q among its arguments; run it as `docker swap ...`", PluginName)
}
