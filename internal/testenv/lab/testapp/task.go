package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// runTask is what dswap's release-task tests run in a one-off container of
// a FROM scratch image (no shell):
//
//	task mark FILE      write $VERSION to FILE (a migration's effect)
//	task exit CODE      print two lines and exit with CODE
//	task sleep DURATION print a line, then sleep (a task that hangs)
//	task get URL        GET URL, print the answer and $VERSION; exit 1 unless 200
func runTask(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintf(stderr, "testapp task: want mark FILE, exit CODE, sleep DURATION or get URL\n")
		return exitBadConfig
	}
	switch args[0] {
	case "mark":
		if err := os.WriteFile(args[1], []byte(getenv("VERSION")), 0o644); err != nil {
			fmt.Fprintf(stderr, "task mark: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "marked %s with %s\n", args[1], getenv("VERSION"))
		return 0
	case "exit":
		code, err := strconv.Atoi(args[1])
		if err != nil {
			return exitBadConfig
		}
		fmt.Fprintf(stdout, "task of %s starting\n", getenv("VERSION"))
		fmt.Fprintf(stderr, "migration failed: table already exists (exit %d)\n", code)
		return code
	case "sleep":
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return exitBadConfig
		}
		fmt.Fprintf(stdout, "sleeping %s\n", d)
		time.Sleep(d)
		return 0
	case "get":
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "task get: %v\n", err)
			return 1
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		fmt.Fprintf(stdout, "got %d from %s: %s; task VERSION=%s TASK_SECRET=%s\n", resp.StatusCode, args[1], body, getenv("VERSION"), getenv("TASK_SECRET"))
		if resp.StatusCode != http.StatusOK {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "testapp task: unknown task %q\n", args[0])
	return exitBadConfig
}
