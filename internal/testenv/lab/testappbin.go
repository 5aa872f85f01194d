package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// testappPackage is the import path of the app that lab images run.
const testappPackage = modulePath + "/internal/testenv/lab/testapp"

// testappCache holds the compiled testapp binary for the life of the
// process. Only a success is cached, so a build cancelled by one caller's
// context does not poison later callers.
var testappCache struct {
	mu  sync.Mutex
	bin []byte
}

// testappBinary returns a static linux testapp binary, compiling it on
// first use. The bytes are kept in memory and the temporary build directory
// removed at once, so nothing is left on disk.
func testappBinary(ctx context.Context, log io.Writer) ([]byte, error) {
	testappCache.mu.Lock()
	defer testappCache.mu.Unlock()
	if testappCache.bin != nil {
		return testappCache.bin, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, fmt.Errorf("compiling testapp: %w", err)
	}
	dir, err := os.MkdirTemp("", "dswap-lab-testapp-")
	if err != nil {
		return nil, fmt.Errorf("compiling testapp: creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testapp")
	fmt.Fprintf(log, "lab: compiling %s\n", testappPackage)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, testappPackage)
	cmd.Dir = root
	cmd.Env = testappBuildEnv(os.Environ())
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("compiling testapp (go build in %s): %w\n%s", root, err, strings.TrimSpace(string(output)))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("compiling testapp: reading the binary: %w", err)
	}
	testappCache.bin = bin
	return bin, nil
}

// testappBuildEnv returns env with the settings a FROM scratch image needs:
// no cgo (there is no libc in the image) and a linux target of this
// machine's architecture, which is the local Engine's too.
func testappBuildEnv(env []string) []string {
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CGO_ENABLED", "GOOS", "GOARCH":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
}
