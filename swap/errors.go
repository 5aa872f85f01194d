package swap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dswap-dev/dswap/engine"
)

// ErrBadInput marks errors caused by what the user asked for or by the
// setup (unknown service, malformed label, unreachable Traefik): nothing was
// changed, and the message says what to fix.
var ErrBadInput = errors.New("bad input")

type badInputError struct{ msg string }

func (e *badInputError) Error() string        { return e.msg }
func (e *badInputError) Is(target error) bool { return target == ErrBadInput }

func badInput(format string, args ...any) error {
	return &badInputError{msg: fmt.Sprintf(format, args...)}
}

// asBadInput marks err as bad input, keeping its chain.
func asBadInput(err error) error {
	if err == nil || errors.Is(err, ErrBadInput) {
		return err
	}
	return &wrappedBadInput{err}
}

type wrappedBadInput struct{ err error }

func (e *wrappedBadInput) Error() string        { return e.err.Error() }
func (e *wrappedBadInput) Unwrap() error        { return e.err }
func (e *wrappedBadInput) Is(target error) bool { return target == ErrBadInput }

// FailedError is a swap that failed and was rolled back: the old version
// kept serving. It carries what the user needs to see why.
type FailedError struct {
	Service string
	Phase   Phase
	Reason  error
	// Kept says what is still serving, e.g. "myapp:v1 (web-1)".
	Kept string
	// Container is the new container that failed (already removed).
	Container string
	// State, HealthLog and Logs describe the failed container.
	State     string
	HealthLog []engine.HealthResult
	Logs      string
	// RollbackErr is set when undoing the swap itself failed.
	RollbackErr error
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "swap of %s failed during %s: %v", e.Service, e.Phase, e.Reason)
	if e.RollbackErr != nil {
		fmt.Fprintf(&b, "; undoing it also failed: %v", e.RollbackErr)
	}
	return b.String()
}

func (e *FailedError) Unwrap() error { return e.Reason }

// Details renders the failed container's state, health log and last log
// lines for the user.
func (e *FailedError) Details() string {
	var b strings.Builder
	if e.Container != "" && e.State != "" {
		fmt.Fprintf(&b, "new container %s: %s\n", e.Container, e.State)
	}
	if len(e.HealthLog) > 0 {
		b.WriteString("health checks (oldest first):\n")
		for _, h := range e.HealthLog {
			fmt.Fprintf(&b, "  %s exit %d: %s\n", h.Start.Format("15:04:05.000"), h.ExitCode, oneLine(h.Output))
		}
	}
	if e.Logs != "" {
		b.WriteString("last log lines:\n")
		for _, l := range strings.Split(e.Logs, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
