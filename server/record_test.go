package server

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeRecordKeepsOrderAndReadableValues(t *testing.T) {
	at := time.Date(2025, 1, 2, 15, 4, 5, 123e6, time.UTC)
	r := slog.NewRecord(at, slog.LevelWarn, "healthy", 0)
	r.AddAttrs(slog.String("phase", "health"), slog.String("container", "web-2"), slog.Duration("after", 1032*time.Millisecond),
		slog.Int("exit code", 0), slog.Bool("killed", false), slog.Any("error", errors.New("boom")), slog.Float64("ratio", 0.5),
		slog.Group("g", slog.String("a", "b")))
	got := EncodeRecord(r, []slog.Attr{slog.String("swap", "abc")})
	assert.Equal(t, `{"time":"2025-01-02T15:04:05.123Z","level":"WARN","msg":"healthy","swap":"abc","phase":"health","container":"web-2","after":"1.032s","exit code":0,"killed":false,"error":"boom","ratio":0.5,"g":{"a":"b"}}`, string(got))

	back, err := DecodeRecord(got)
	require.NoError(t, err)
	assert.Equal(t, at, back.Time)
	assert.Equal(t, slog.LevelWarn, back.Level)
	assert.Equal(t, "healthy", back.Message)
	var keys, values []string
	back.Attrs(func(a slog.Attr) bool {
		keys = append(keys, a.Key)
		values = append(values, a.Value.String())
		return true
	})
	assert.Equal(t, []string{"swap", "phase", "container", "after", "exit code", "killed", "error", "ratio", "g"}, keys)
	assert.Equal(t, []string{"abc", "health", "web-2", "1.032s", "0", "false", "boom", "0.5", "[a=b]"}, values)
}

func TestDecodeRecordRefusesWhatIsNotAnObject(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"msg":`} {
		_, err := DecodeRecord([]byte(in))
		assert.Error(t, err, in)
	}
}
