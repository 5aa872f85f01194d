package server

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
)

// gatedBackend logs one record, then waits for release before finishing,
// so a test can subscribe while the swap runs.
func gatedBackend(release <-chan struct{}) *fakeBackend {
	return &fakeBackend{swap: func(ctx context.Context, req swap.Request, log *slog.Logger) (*swap.Result, error) {
		log.Info("planning", "phase", "plan", "image", req.Image)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		log.Info("done", "phase", "done")
		return &swap.Result{Service: req.Service, ToImage: req.Image}, nil
	}}
}

func openStream(t *testing.T, url, accept string) (*http.Response, *bufio.Scanner) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp, bufio.NewScanner(resp.Body)
}

func TestStreamNDJSON(t *testing.T) {
	release := make(chan struct{})
	s, hs, _ := testServer(t, Options{Backend: gatedBackend(release)})
	r, err := s.start(runSpec{kind: "swap", service: "web", image: "myapp:v2", trigger: "api"})
	require.NoError(t, err)

	resp, sc := openStream(t, hs.URL+"/v1/swaps/"+r.ID+"/events", "")
	assert.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	require.True(t, sc.Scan())
	assert.Contains(t, sc.Text(), `"msg":"planning","phase":"plan","image":"myapp:v2"`, "the record arrived while the swap runs")
	close(release)
	var lines []string
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	require.Len(t, lines, 2, "the last record, then the outcome, then the stream ends")
	assert.Contains(t, lines[0], `"msg":"done"`)
	var out Outcome
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &out))
	assert.Equal(t, "swapped", out.Result)
	assert.Equal(t, 0, out.ExitCode)

	// A late subscriber gets everything again; ?after=0 skips the first.
	_, sc = openStream(t, hs.URL+"/v1/swaps/"+r.ID+"/events?after=0", "")
	lines = nil
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"msg":"done"`)
}

func TestStreamSSE(t *testing.T) {
	release := make(chan struct{})
	close(release)
	s, hs, _ := testServer(t, Options{Backend: gatedBackend(release)})
	r, err := s.start(runSpec{kind: "swap", service: "web", image: "myapp:v2", trigger: "api"})
	require.NoError(t, err)
	_, err = s.Outcome(context.Background(), r.ID)
	require.NoError(t, err)

	resp, sc := openStream(t, hs.URL+"/v1/swaps/"+r.ID+"/events", "text/event-stream")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var b strings.Builder
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	events := strings.Split(strings.TrimSpace(b.String()), "\n\n")
	require.Len(t, events, 3)
	assert.True(t, strings.HasPrefix(events[0], "id: 0\nevent: log\ndata: {"), events[0])
	assert.True(t, strings.HasPrefix(events[1], "id: 1\nevent: log\ndata: {"), events[1])
	assert.True(t, strings.HasPrefix(events[2], "event: result\ndata: {\"id\":\""+r.ID+"\",\"result\":\"swapped\",\"exit_code\":0"), events[2])

	// Resuming with Last-Event-ID sends only what came after.
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/swaps/"+r.ID+"/events?format=sse", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Last-Event-ID", "1")
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp2.Body.Close()
	sc = bufio.NewScanner(resp2.Body)
	require.True(t, sc.Scan())
	assert.Equal(t, "event: result", sc.Text())
}

func TestStreamOfAnUnknownSwap(t *testing.T) {
	_, hs, _ := testServer(t, Options{})
	status, _ := call(t, http.MethodGet, hs.URL+"/v1/swaps/nope/events", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = call(t, http.MethodGet, hs.URL+"/v1/swaps/nope/events?format=xml", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestStreamResumeFromAHugeOrBadRecordNumber(t *testing.T) {
	release := make(chan struct{})
	close(release)
	s, hs, _ := testServer(t, Options{Backend: gatedBackend(release)})
	r, err := s.start(runSpec{kind: "swap", service: "web", image: "myapp:v2", trigger: "api"})
	require.NoError(t, err)
	_, err = s.Outcome(context.Background(), r.ID)
	require.NoError(t, err)

	// A resume point past every record sends only the outcome; the
	// largest int64 once overflowed to a negative index and panicked.
	for _, after := range []string{"9223372036854775807", "9223372036854775806", "4999", "5000"} {
		status, body := call(t, http.MethodGet, hs.URL+"/v1/swaps/"+r.ID+"/events", nil, map[string]string{"Last-Event-ID": after})
		require.Equal(t, http.StatusOK, status, after)
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		require.Len(t, lines, 1, after)
		assert.Contains(t, lines[0], `"result":"swapped"`, after)
	}
	for _, after := range []string{"-1", "x", "99999999999999999999", "+1", " 1"} {
		status, _ := call(t, http.MethodGet, hs.URL+"/v1/swaps/"+r.ID+"/events?after="+url.QueryEscape(after), nil, nil)
		assert.Equal(t, http.StatusBadRequest, status, after)
	}
}
