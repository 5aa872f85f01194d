package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/swap"
)

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusOf maps an error to the HTTP status that says whose it is.
func statusOf(err error) int {
	var failed *swap.FailedError
	switch {
	case errors.As(err, &failed), errors.Is(err, context.Canceled):
		return http.StatusUnprocessableEntity
	case errors.Is(err, lock.ErrHeld):
		return http.StatusConflict
	case errors.Is(err, swap.ErrBadInput):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// statusOfExit maps a swap's exit code to the status of a synchronous
// swap: 200 done, 422 failed and rolled back, 400 bad input, 409 lock
// held, 500 anything else.
func statusOfExit(code int) int {
	switch code {
	case ExitOK:
		return http.StatusOK
	case ExitFailed:
		return http.StatusUnprocessableEntity
	case ExitBadInput:
		return http.StatusBadRequest
	case ExitLocked:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// exitOfStatus is the reverse, for a client that got an error answer
// before any swap ran: the exit code a local dswap would have ended with.
func exitOfStatus(status int) int {
	switch {
	case status < 300:
		return ExitOK
	case status == http.StatusUnprocessableEntity:
		return ExitFailed
	case status == http.StatusConflict:
		return ExitLocked
	case status >= 400 && status < 500:
		// Bad request, wrong token, unknown service or swap: the call
		// was wrong and nothing changed.
		return ExitBadInput
	default:
		return ExitInternal
	}
}
