package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pullStream is a pull of two layers as a 20.10 Engine streams it: one
// layer already present, one downloaded in many chunks.
func pullStream(chunks int) []pullMessage {
	var out []pullMessage
	add := func(s string) {
		var m pullMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	add(`{"status":"Pulling from app","id":"v2"}`)
	add(`{"status":"Already exists","progressDetail":{},"id":"aaa"}`)
	add(`{"status":"Pulling fs layer","progressDetail":{},"id":"bbb"}`)
	add(`{"status":"Waiting","progressDetail":{},"id":"bbb"}`)
	for i := 1; i <= chunks; i++ {
		add(fmt.Sprintf(`{"status":"Downloading","progressDetail":{"current":%d,"total":%d},"progress":"[=>  ]","id":"bbb"}`, i*1000, chunks*1000))
	}
	add(`{"status":"Verifying Checksum","progressDetail":{},"id":"bbb"}`)
	add(`{"status":"Download complete","progressDetail":{},"id":"bbb"}`)
	for i := 1; i <= chunks; i++ {
		add(fmt.Sprintf(`{"status":"Extracting","progressDetail":{"current":%d,"total":%d},"id":"bbb"}`, i*1000, chunks*1000))
	}
	add(`{"status":"Pull complete","progressDetail":{},"id":"bbb"}`)
	add(`{"status":"Digest: sha256:abc"}`)
	add(`{"status":"Status: Downloaded newer image for 127.0.0.1:5000/app:v2"}`)
	return out
}

func render(lines []progressLine) []string {
	var out []string
	for _, l := range lines {
		s := l.msg
		for i := 0; i+1 < len(l.attrs); i += 2 {
			s += fmt.Sprintf(" %v=%v", l.attrs[i], l.attrs[i+1])
		}
		out = append(out, s)
	}
	return out
}

func TestPullProgressNotATerminalLogsStateChanges(t *testing.T) {
	p := newPullProgress(false)
	var lines []progressLine
	now := time.Unix(0, 0)
	for _, m := range pullStream(500) {
		lines = append(lines, p.feed(m, now)...)
		now = now.Add(time.Millisecond)
	}
	lines = append(lines, p.finish()...)
	assert.Equal(t, []string{
		"Pulling from app",
		"Already exists layer=aaa",
		"Pulling fs layer layer=bbb",
		"Waiting layer=bbb",
		"Downloading layer=bbb size=500kB",
		"Verifying Checksum layer=bbb",
		"Download complete layer=bbb",
		"Extracting layer=bbb",
		"Pull complete layer=bbb",
		"Digest: sha256:abc",
		"Status: Downloaded newer image for 127.0.0.1:5000/app:v2",
	}, render(lines), "one line per layer state change, none per byte update")
}

func TestPullProgressOnATerminalSummarisesOncePerSecond(t *testing.T) {
	p := newPullProgress(true)
	var lines []progressLine
	now := time.Unix(100, 0)
	stream := pullStream(100)
	for _, m := range stream {
		lines = append(lines, p.feed(m, now)...)
		now = now.Add(50 * time.Millisecond) // the whole pull takes ~10 s
	}
	lines = append(lines, p.finish()...)
	got := render(lines)

	var summaries []string
	for _, l := range got {
		if strings.HasPrefix(l, "pulling ") {
			summaries = append(summaries, l)
		}
	}
	elapsed := time.Duration(len(stream)) * 50 * time.Millisecond
	assert.LessOrEqual(t, len(summaries), int(elapsed/progressEvery)+2, "at most one summary a second, plus the last")
	assert.GreaterOrEqual(t, len(summaries), 5)
	var partial, extracting bool
	for _, s := range summaries {
		partial = partial || strings.Contains(s, "layers=1/2 downloaded=") && !strings.Contains(s, "downloaded=100kB")
		extracting = extracting || strings.Contains(s, "extracting=")
	}
	assert.True(t, partial, "bytes are shown while downloading: %q", summaries)
	assert.True(t, extracting, "extraction is shown: %q", summaries)
	for i := 1; i < len(summaries); i++ {
		assert.NotEqual(t, summaries[i-1], summaries[i], "an unchanged summary is not repeated")
	}
	assert.Equal(t, "pulling layers=2/2 downloaded=100kB of 100kB", summaries[len(summaries)-1], "the final state is shown")
	assert.Contains(t, got, "Pulling from app")
	assert.Contains(t, got, "Status: Downloaded newer image for 127.0.0.1:5000/app:v2")
	assert.NotContains(t, got, "Waiting layer=bbb", "no per-layer lines on a terminal")
}

func TestPullProgressIgnoresErrorMessages(t *testing.T) {
	p := newPullProgress(false)
	var m pullMessage
	require.NoError(t, json.Unmarshal([]byte(`{"errorDetail":{"message":"boom"},"error":"boom"}`), &m))
	assert.Empty(t, p.feed(m, time.Now()))
	assert.Equal(t, "boom", m.err())
}
