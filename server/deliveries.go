package server

import "net/http"

// countDeliveries tells the observers how each webhook delivery was
// answered, named from its status code, without touching the handlers.
func (s *Server) countDeliveries(source string, next http.Handler) http.Handler {
	if len(s.observe) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.observe.HookDelivered(source, deliveryOutcome(rec.status))
	})
}

// deliveryOutcome names a webhook answer: accepted (a swap started),
// ignored (nothing to do, or seen before), unauthorized, rejected (a
// malformed delivery), unavailable (the sidecar is busy) or off.
func deliveryOutcome(status int) string {
	switch {
	case status == http.StatusAccepted:
		return "accepted"
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status == http.StatusNotFound:
		return "off"
	case status == http.StatusServiceUnavailable, status == http.StatusTooManyRequests:
		return "unavailable"
	case status >= 200 && status < 300:
		return "ignored"
	default:
		return "rejected"
	}
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
