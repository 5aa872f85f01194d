package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// HelperPrefix starts the name of every credential helper program.
const HelperPrefix = "docker-credential-"

// defaultHelperTimeout bounds one helper call. A helper that waits for a
// keychain prompt nobody answers must not hang a deploy.
const defaultHelperTimeout = 30 * time.Second

// helperWaitDelay is how long dswap waits for a helper's output to close
// after the helper was killed or has exited.
const helperWaitDelay = time.Second

// notFoundMessage is what helpers print when they hold nothing for the
// server (docker-credential-helpers' credentials.ErrCredentialsNotFound).
const notFoundMessage = "credentials not found in native keychain"

// tokenUsername marks an identity token in a helper's answer.
const tokenUsername = "<token>"

// errHelperNoEntry is a helper saying it holds nothing for the server.
var errHelperNoEntry = errors.New("no entry")

// helperAnswer is the JSON a helper prints for "get".
type helperAnswer struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// runHelper asks docker-credential-<name> for the login of serverURL with
// the helper protocol: "get" as the argument, the server URL on stdin, a
// JSON answer on stdout; on failure the helper prints its error message on
// stdout and exits non-zero.
func runHelper(ctx context.Context, name, serverURL string, timeout time.Duration) (Credential, error) {
	program := HelperPrefix + name
	path, err := exec.LookPath(program)
	if err != nil {
		return Credential{}, fmt.Errorf("%s is not on PATH", program)
	}
	if timeout <= 0 {
		timeout = defaultHelperTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "get")
	cmd.Env = helperEnv(os.Environ())
	// The helper runs in a process group of its own, and the timeout
	// kills the whole group: a helper that leaves a child holding its
	// stdout would otherwise keep the wait for its output open after the
	// helper itself was killed. WaitDelay bounds that wait in any case.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = helperWaitDelay
	cmd.Stdin = strings.NewReader(serverURL)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// The helper's stderr is not shown: it is not part of the protocol and
	// nothing guarantees it is free of secrets.
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return Credential{}, fmt.Errorf("%s get did not answer within %s; it and its children were killed", program, timeout)
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return Credential{}, fmt.Errorf("%s get exited but left a process holding its output open; fix the helper", program)
	}
	return parseHelperAnswer(program, stdout.Bytes(), err)
}

// helperEnv is dswap's environment without dswap's own settings: a
// helper is another program and has no business with the sidecar's API
// token, webhook secrets or registry password (every DSWAP_* variable).
func helperEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "DSWAP_") {
			out = append(out, kv)
		}
	}
	return out
}

// parseHelperAnswer turns a helper's output and exit status into a
// credential, errHelperNoEntry, or an error that quotes the helper's own
// error message (never its JSON answer, which holds the secret).
func parseHelperAnswer(program string, stdout []byte, runErr error) (Credential, error) {
	msg := strings.TrimSpace(string(stdout))
	if runErr != nil {
		if msg == notFoundMessage {
			return Credential{}, errHelperNoEntry
		}
		var exit *exec.ExitError
		if !errors.As(runErr, &exit) {
			return Credential{}, fmt.Errorf("running %s get: %w", program, runErr)
		}
		if len(msg) > 200 || strings.HasPrefix(msg, "{") {
			msg = "(output not shown)"
		}
		return Credential{}, fmt.Errorf("%s get failed (exit code %d): %s", program, exit.ExitCode(), msg)
	}
	var a helperAnswer
	if err := json.Unmarshal(stdout, &a); err != nil {
		return Credential{}, fmt.Errorf("%s get: its answer is not the helper protocol's JSON", program)
	}
	if a.Username == "" && a.Secret == "" {
		return Credential{}, errHelperNoEntry
	}
	if a.Username == tokenUsername {
		return Credential{IdentityToken: a.Secret}, nil
	}
	return Credential{Username: a.Username, Password: a.Secret}, nil
}
