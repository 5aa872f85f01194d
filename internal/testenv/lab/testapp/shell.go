package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// runShell is testapp installed as /bin/sh in a FROM scratch image, so
// that dswap's release tasks in the shell form (`/bin/sh -c SCRIPT`) run
// for real. It is no shell: SCRIPT is commands joined by &&, each split
// on spaces (no quoting) after $VAR and ${VAR} are expanded, and run
// until one fails:
//
//	echo WORDS...   print the words
//	exit CODE       exit with CODE
//	task ...        testapp's release tasks (see task.go)
func runShell(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "-c" {
		fmt.Fprintf(stderr, "sh (testapp): want -c SCRIPT\n")
		return exitBadConfig
	}
	for _, command := range strings.Split(args[1], "&&") {
		words := strings.Fields(os.Expand(command, getenv))
		if len(words) == 0 {
			fmt.Fprintf(stderr, "sh (testapp): empty command in %q\n", args[1])
			return exitBadConfig
		}
		code := 0
		switch words[0] {
		case "echo":
			fmt.Fprintln(stdout, strings.Join(words[1:], " "))
		case "exit":
			if len(words) != 2 {
				fmt.Fprintf(stderr, "sh (testapp): exit CODE\n")
				return exitBadConfig
			}
			n, err := strconv.Atoi(words[1])
			if err != nil {
				fmt.Fprintf(stderr, "sh (testapp): exit %q: not a number\n", words[1])
				return exitBadConfig
			}
			return n
		case "task":
			code = runTask(words[1:], getenv, stdout, stderr)
		default:
			fmt.Fprintf(stderr, "sh (testapp): %s: not found\n", words[0])
			return 127
		}
		if code != 0 {
			return code
		}
	}
	return 0
}
