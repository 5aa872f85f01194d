package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// SpawnArg is the first argument that makes dswap-bench act as the small
// go-between that starts dswap and records its resource use.
//
// Why a go-between: Go starts programs with clone(CLONE_VM|CLONE_VFORK),
// and Linux carries the high-water RSS of the address space a process had
// before execve into that process's ru_maxrss. A dswap started directly by
// the benchmark therefore reports at least the benchmark's own RSS, which
// grows with every swap it records. Started from this go-between, whose
// own RSS is a few MB, dswap's ru_maxrss is its own.
const SpawnArg = "__spawn-measured"

// usage is what the go-between writes for the benchmark.
type usage struct {
	MaxRSS int64         `json:"max_rss_bytes"`
	CPU    time.Duration `json:"cpu_ns"`
}

// SpawnMain runs `bin args...` with this process's stdio and environment,
// writes its usage as JSON to usageFile, and returns its exit code. args
// are what follows SpawnArg: usageFile, bin, then bin's arguments.
func SpawnMain(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "dswap-bench: "+SpawnArg+" needs a usage file and a program")
		return 125
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "dswap-bench:", err)
		return 125
	}
	var u usage
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
		u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, _ := json.Marshal(u)
	if err := os.WriteFile(args[0], b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "dswap-bench:", err)
		return 125
	}
	return cmd.ProcessState.ExitCode()
}

// readUsage reads what the go-between wrote.
func readUsage(path string) (usage, error) {
	var u usage
	b, err := os.ReadFile(path)
	if err != nil {
		return u, err
	}
	return u, json.Unmarshal(b, &u)
}
