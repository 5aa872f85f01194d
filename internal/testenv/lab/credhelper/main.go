// Command credhelper is a docker credential helper for dswap's end-to-end
// tests, installed as docker-credential-dswaptest. It speaks the "get"
// half of the helper protocol: the server URL on stdin, a JSON
// {ServerURL, Username, Secret} on stdout, or "credentials not found in
// native keychain" and exit code 1 when it holds nothing for the server.
//
// Its logins come from the JSON file named by DSWAPTEST_CREDENTIALS,
// {"<server URL>": {"Username": "...", "Secret": "..."}}. When
// DSWAPTEST_CREDHELPER_LOG is set, every server URL asked for is appended
// to that file, so a test can tell that dswap asked the helper.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type login struct {
	ServerURL string `json:"ServerURL,omitempty"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

func main() {
	if len(os.Args) != 2 || os.Args[1] != "get" {
		fmt.Fprintln(os.Stdout, "docker-credential-dswaptest supports only: get")
		os.Exit(1)
	}
	if err := get(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stdout, err)
		os.Exit(1)
	}
}

func get(stdin io.Reader, stdout io.Writer) error {
	in, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	server := strings.TrimSpace(string(in))
	if path := os.Getenv("DSWAPTEST_CREDHELPER_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, server)
		if err := f.Close(); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(os.Getenv("DSWAPTEST_CREDENTIALS"))
	if err != nil {
		return fmt.Errorf("reading DSWAPTEST_CREDENTIALS: %w", err)
	}
	logins := map[string]login{}
	if err := json.Unmarshal(data, &logins); err != nil {
		return fmt.Errorf("DSWAPTEST_CREDENTIALS: %w", err)
	}
	l, ok := logins[server]
	if !ok {
		return fmt.Errorf("credentials not found in native keychain")
	}
	l.ServerURL = server
	return json.NewEncoder(stdout).Encode(l)
}
