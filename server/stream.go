package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// keepAlive is how often an idle stream sends something, so that proxies
// do not cut it during a long drain.
const keepAlive = 15 * time.Second

// streamFormat is how a swap's events are written.
type streamFormat int

const (
	formatNDJSON streamFormat = iota // one JSON object a line
	formatSSE                        // Server-Sent Events
)

// formatOf picks the stream format: ?format=sse|ndjson, else the Accept
// header (text/event-stream means SSE), else NDJSON.
func formatOf(req *http.Request) (streamFormat, error) {
	switch f := req.URL.Query().Get("format"); f {
	case "sse":
		return formatSSE, nil
	case "ndjson":
		return formatNDJSON, nil
	case "":
	default:
		return 0, fmt.Errorf("?format=%s: want sse or ndjson", f)
	}
	if strings.Contains(req.Header.Get("Accept"), "text/event-stream") {
		return formatSSE, nil
	}
	return formatNDJSON, nil
}

// streamSwap writes every progress record of a swap (from the first, or
// after Last-Event-ID / ?after=N), then, when the swap ends, its outcome,
// and closes the stream. Records are objects with "msg"; the final object
// has "result" and "exit_code". In SSE the records are "log" events and
// the outcome a "result" event.
func (s *Server) streamSwap(w http.ResponseWriter, req *http.Request) {
	r, ok := s.runs.get(req.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no swap "+strconv.Quote(req.PathValue("id"))+" in this sidecar")
		return
	}
	format, err := formatOf(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resume := req.Header.Get("Last-Event-ID")
	if resume == "" {
		resume = req.URL.Query().Get("after")
	}
	next, err := resumePoint(resume)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	rc := http.NewResponseController(w)
	if format == formatSSE {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()

	ticker := time.NewTicker(keepAlive)
	defer ticker.Stop()
	for {
		recs, changed, out, _ := r.since(next)
		for _, rec := range recs {
			if err := writeEvent(w, format, "log", strconv.Itoa(next), rec); err != nil {
				return
			}
			next++
		}
		if out != nil {
			b, _ := json.Marshal(out)
			_ = writeEvent(w, format, "result", "", b)
			_ = rc.Flush()
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-req.Context().Done():
			return
		case <-changed:
		case <-ticker.C:
			if format == formatSSE {
				_, err = fmt.Fprint(w, ": keep-alive\n\n")
			} else {
				_, err = fmt.Fprint(w, "\n")
			}
			if err != nil {
				return
			}
		}
	}
}

// resumePoint reads Last-Event-ID or ?after=N, the number of the last
// record a client has, and returns the index of the next record to send.
// A run never holds more than maxRecords records, so any larger number
// means "nothing more but the outcome"; clamping it keeps the index from
// overflowing.
func resumePoint(after string) (int, error) {
	if after == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(after, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("Last-Event-ID / ?after= %q must be the number of a record (0 or more)", after)
	}
	if n >= maxRecords {
		return maxRecords, nil
	}
	return int(n) + 1, nil
}

func writeEvent(w http.ResponseWriter, format streamFormat, event, id string, data []byte) error {
	var err error
	if format == formatSSE {
		if id != "" {
			_, err = fmt.Fprintf(w, "id: %s\n", id)
		}
		if err == nil {
			// A JSON object written by encoding/json holds no raw newline.
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		}
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}
