package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// Exit codes. They are part of dswap's interface (CI steps branch on them)
// and are documented in README.md.
const (
	exitOK          = 0
	exitSwapFailed  = 1 // the swap failed and was rolled back; the old version serves
	exitBadInput    = 2 // nothing was changed: fix the command, labels or setup
	exitLockTimeout = 3 // another swap of the service holds its lock
	exitInternal    = 4 // anything else, e.g. the Engine failed mid-way
)

func exitCode(err error) int {
	var failed *swap.FailedError
	// A swap run by a sidecar (DSWAP_HOST) carries the code it ended with.
	// (Not ExitCode: *exec.ExitError has that, and a failed helper
	// program's code is not dswap's.)
	var coded interface{ SwapExitCode() int }
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &coded):
		return coded.SwapExitCode()
	case errors.As(err, &failed), errors.Is(err, context.Canceled):
		return exitSwapFailed
	case errors.Is(err, lock.ErrHeld):
		return exitLockTimeout
	case errors.Is(err, swap.ErrBadInput), errors.Is(err, errUsage):
		return exitBadInput
	default:
		return exitInternal
	}
}

// errUsage marks mistakes in the command line, environment or setup.
var errUsage = errors.New("usage")

type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == errUsage }

// usagef is a mistake in how dswap was called.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// badInput marks a setup error as the user's to fix.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}
