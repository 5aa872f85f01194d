package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// progressHandler prints one human line per event: seconds since the
// command started, the swap phase, the message and its attributes.
//
//	1.04s  health   healthy container=web-2 after=1.032s
type progressHandler struct {
	w     io.Writer
	start time.Time
	mu    *sync.Mutex
	attrs []slog.Attr
}

func newProgressHandler(w io.Writer, start time.Time) *progressHandler {
	return &progressHandler{w: w, start: start, mu: &sync.Mutex{}}
}

func (h *progressHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *progressHandler) Handle(_ context.Context, r slog.Record) error {
	phase := ""
	var b strings.Builder
	if r.Level >= slog.LevelWarn {
		b.WriteString("warning: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if a.Key == "phase" {
			phase = a.Value.String()
			return true
		}
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t") {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", strings.ReplaceAll(a.Key, " ", "_"), v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintf(h.w, "%7.2fs  %-8s %s\n", r.Time.Sub(h.start).Seconds(), phase, b.String())
	return err
}

func (h *progressHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *progressHandler) WithGroup(string) slog.Handler { return h }

// newLogger picks the handler for --output.
func newLogger(format string, w io.Writer, start time.Time) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(newProgressHandler(w, start)), nil
	case "json":
		// Durations as "1.032s", as a sidecar streams them (server.EncodeRecord),
		// not slog's integer nanoseconds.
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: durationString})), nil
	}
	return nil, usagef("--output %q: want text or json", format)
}

func durationString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}
