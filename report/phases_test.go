package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/swap"
)

func TestWritePhases(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WritePhases(&b, finishedSwap()))
	dec := xml.NewDecoder(&b)
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			texts = append(texts, strings.TrimSpace(string(cd)))
		}
	}
	assert.Contains(t, texts, "flipped: SIGTERM old 0.80s")
	assert.Contains(t, strings.Join(texts, " "), "kept by the sidecar")

	assert.Error(t, WritePhases(io.Discard, &swap.Result{Service: "web"}), "a swap without steps has no picture")
	assert.Error(t, WritePhases(io.Discard, nil))
}
