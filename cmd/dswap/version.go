package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/dswap
//
// (scripts/release.sh does). A build without them (go install, go build)
// falls back to what the Go toolchain recorded in the binary.
var (
	version = "dev"
	commit  = ""
)

// buildInfo is what `dswap version` prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// currentBuild reads the stamped version and commit, and fills what is
// missing from the module and VCS information Go records: `go install
// github.com/dswap-dev/dswap/cmd/dswap@v1.2.0` stamps the module version,
// a build in a git checkout its revision.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	return fillBuild(b, info)
}

func fillBuild(b buildInfo, info *debug.BuildInfo) buildInfo {
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Commit == "" {
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && b.Commit != "" {
			b.Commit += "-dirty"
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if info.GoVersion != "" {
		b.GoVersion = info.GoVersion
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("dswap %s\ncommit: %s\ngo: %s\nplatform: %s\n", b.Version, b.Commit, b.GoVersion, b.Platform)
}

func newVersionCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print dswap's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, _ := cmd.Flags().GetString("output")
			b := currentBuild()
			switch format {
			case "json":
				return json.NewEncoder(c.stdout).Encode(b)
			case "text":
				_, err := fmt.Fprint(c.stdout, b.String())
				return err
			}
			return usagef("--output %q: want text or json", format)
		},
	}
	cmd.Flags().StringP("output", "o", "text", "text or json")
	return cmd
}
