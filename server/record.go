package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// A swap's progress travels as its slog records, one JSON object each:
//
//	{"time":"2025-01-02T15:04:05.123Z","level":"INFO","msg":"healthy","phase":"health","container":"web-2","after":"1.032s"}
//
// Attributes keep their order, so the client can print the same progress
// line a local swap prints. Durations travel as Go duration strings
// ("1.032s"), times as RFC 3339, errors as their message.

// EncodeRecord renders a record and the handler's preset attributes.
func EncodeRecord(r slog.Record, preset []slog.Attr) []byte {
	var b bytes.Buffer
	b.WriteString(`{"time":`)
	appendString(&b, r.Time.UTC().Format(time.RFC3339Nano))
	b.WriteString(`,"level":`)
	appendString(&b, r.Level.String())
	b.WriteString(`,"msg":`)
	appendString(&b, r.Message)
	write := func(a slog.Attr) bool {
		appendAttr(&b, a)
		return true
	}
	for _, a := range preset {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('}')
	return b.Bytes()
}

func appendAttr(b *bytes.Buffer, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" && v.Kind() != slog.KindGroup {
		return
	}
	if v.Kind() == slog.KindGroup {
		if a.Key == "" { // inline the group, as slog does
			for _, g := range v.Group() {
				appendAttr(b, g)
			}
			return
		}
		b.WriteByte(',')
		appendString(b, a.Key)
		b.WriteString(":{")
		inner := bytes.Buffer{}
		for _, g := range v.Group() {
			appendAttr(&inner, g)
		}
		b.Write(bytes.TrimPrefix(inner.Bytes(), []byte(",")))
		b.WriteByte('}')
		return
	}
	b.WriteByte(',')
	appendString(b, a.Key)
	b.WriteByte(':')
	appendValue(b, v)
}

func appendValue(b *bytes.Buffer, v slog.Value) {
	switch v.Kind() {
	case slog.KindString:
		appendString(b, v.String())
	case slog.KindInt64:
		b.WriteString(strconv.FormatInt(v.Int64(), 10))
	case slog.KindUint64:
		b.WriteString(strconv.FormatUint(v.Uint64(), 10))
	case slog.KindFloat64:
		if f, err := json.Marshal(v.Float64()); err == nil {
			b.Write(f)
		} else {
			appendString(b, v.String()) // NaN and infinities have no JSON form
		}
	case slog.KindBool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case slog.KindDuration:
		appendString(b, v.Duration().String())
	case slog.KindTime:
		appendString(b, v.Time().UTC().Format(time.RFC3339Nano))
	default:
		switch x := v.Any().(type) {
		case error:
			appendString(b, x.Error())
		case fmt.Stringer:
			appendString(b, x.String())
		default:
			if j, err := json.Marshal(x); err == nil {
				b.Write(j)
			} else {
				appendString(b, fmt.Sprint(x))
			}
		}
	}
}

func appendString(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s) // a string always marshals
	b.Write(j)
}

// DecodeRecord reads one object written by EncodeRecord back into a
// record, attributes in their order. Strings stay strings (a duration
// prints as it did on the server), integers become int64, other numbers
// float64, and nested objects groups.
func DecodeRecord(line []byte) (slog.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return slog.Record{}, fmt.Errorf("a swap event is not a JSON object: %.80s", line)
	}
	attrs, err := decodeAttrs(dec)
	if err != nil {
		return slog.Record{}, fmt.Errorf("reading a swap event %.80s: %w", line, err)
	}
	var (
		at    time.Time
		level slog.Level
		msg   string
		rest  []slog.Attr
	)
	for _, a := range attrs {
		switch a.Key {
		case "time":
			at, _ = time.Parse(time.RFC3339Nano, a.Value.String())
		case "level":
			if err := level.UnmarshalText([]byte(a.Value.String())); err != nil {
				level = slog.LevelInfo
			}
		case "msg":
			msg = a.Value.String()
		default:
			rest = append(rest, a)
		}
	}
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(rest...)
	return r, nil
}

// decodeAttrs reads the members of an object whose '{' was read.
func decodeAttrs(dec *json.Decoder) ([]slog.Attr, error) {
	var out []slog.Attr
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		v, err := decodeValue(dec)
		if err != nil {
			return nil, err
		}
		out = append(out, slog.Attr{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	return out, nil
}

func decodeValue(dec *json.Decoder) (slog.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return slog.Value{}, err
	}
	switch x := tok.(type) {
	case string:
		return slog.StringValue(x), nil
	case bool:
		return slog.BoolValue(x), nil
	case nil:
		return slog.StringValue(""), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return slog.Int64Value(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return slog.Value{}, err
		}
		return slog.Float64Value(f), nil
	case json.Delim:
		switch x {
		case '{':
			attrs, err := decodeAttrs(dec)
			if err != nil {
				return slog.Value{}, err
			}
			return slog.GroupValue(attrs...), nil
		case '[':
			var items []any
			for dec.More() {
				var item any
				if err := dec.Decode(&item); err != nil {
					return slog.Value{}, err
				}
				items = append(items, item)
			}
			if _, err := dec.Token(); err != nil {
				return slog.Value{}, err
			}
			return slog.AnyValue(items), nil
		}
	}
	return slog.Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// recordHandler hands each record of one swap, encoded, to sink, and also
// to next (the sidecar's own log) when set.
type recordHandler struct {
	sink  func([]byte)
	next  slog.Handler
	attrs []slog.Attr
}

func newRecordHandler(sink func([]byte), next slog.Handler) *recordHandler {
	return &recordHandler{sink: sink, next: next}
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *recordHandler) Handle(ctx context.Context, r slog.Record) error {
	h.sink(EncodeRecord(r, h.attrs))
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	if h.next != nil {
		c.next = h.next.WithAttrs(attrs)
	}
	return &c
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }
