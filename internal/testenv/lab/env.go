package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// modulePath is the import path whose go.mod marks the repository root.
const modulePath = "github.com/dswap-dev/dswap"

// TraefikBinEnv names the environment variable that points at a static
// traefik binary.
const TraefikBinEnv = "DSWAP_TRAEFIK_BIN"

// TraefikBinFromEnv returns $DSWAP_TRAEFIK_BIN when set, else
// <module root>/.cache/bin/traefik when that file exists, else "". It never
// fails: callers decide whether a missing binary means skip or error.
func TraefikBinFromEnv() string {
	if p := os.Getenv(TraefikBinEnv); p != "" {
		return p
	}
	root, err := moduleRoot()
	if err != nil {
		return ""
	}
	p := filepath.Join(root, ".cache", "bin", "traefik")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p
	}
	return ""
}

// moduleRoot finds the dswap repository root: first by walking up from the
// working directory (cheap, and what `go test` gives us), then by asking the
// go command, which also honours GOWORK-less module lookups from elsewhere.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locating the dswap module root: %w", err)
	}
	if root, ok := findModuleRoot(wd); ok {
		return root, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err == nil {
		gomod := strings.TrimSpace(string(out))
		if gomod != "" && gomod != os.DevNull && isDswapGoMod(gomod) {
			return filepath.Dir(gomod), nil
		}
	}
	return "", errors.New("locating the dswap module root: no go.mod for " + modulePath + " above " + wd + " (run from inside the repository)")
}

// findModuleRoot walks up from dir to the first directory whose go.mod
// declares the dswap module.
func findModuleRoot(dir string) (string, bool) {
	for {
		if isDswapGoMod(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// isDswapGoMod reports whether path is a go.mod whose module line is dswap's,
// so that a nested or unrelated module is never mistaken for the root.
func isDswapGoMod(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}
