package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamBuild(t *testing.T) {
	ok := `{"stream":"Step 1/2 : FROM scratch\n"}
{"stream":"\n"}
{"stream":" ---\u003e Running in abc\n ---\u003e def\n"}
{"aux":{"ID":"sha256:def"}}
{"stream":"Successfully built def\n"}
{"stream":"Successfully tagged app:v2\n"}
`
	var lines []string
	require.NoError(t, streamBuild(strings.NewReader(ok), func(l string) { lines = append(lines, l) }))
	assert.Equal(t, []string{"Step 1/2 : FROM scratch", " ---> Running in abc", " ---> def", "Successfully built def", "Successfully tagged app:v2"}, lines)

	failed := `{"stream":"Step 1/2 : FROM app:v1\n"}
{"stream":"Step 2/2 : RUN false\n"}
{"errorDetail":{"message":"OCI runtime create failed: exec: \"/bin/sh\": no such file"},"error":"OCI runtime create failed"}
`
	err := streamBuild(strings.NewReader(failed), func(string) {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `OCI runtime create failed: exec: "/bin/sh": no such file`, "the build's own message")
	assert.Contains(t, err.Error(), "Step 2/2 : RUN false", "with the last lines")

	err = streamBuild(strings.NewReader(`{"error":"dockerfile parse error line 1: unknown instruction: FROMM"}`), func(string) {})
	assert.EqualError(t, err, "dockerfile parse error line 1: unknown instruction: FROMM")
}

func TestRepoDigest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	img := &Image{RepoDigests: []string{"127.0.0.1:5000/other@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "127.0.0.1:5000/app@" + d, "myapp@" + d}}
	assert.Equal(t, "127.0.0.1:5000/app@"+d, img.RepoDigest("127.0.0.1:5000/app:v2"))
	assert.Equal(t, "myapp@"+d, img.RepoDigest("docker.io/library/myapp:latest"))
	assert.Equal(t, "127.0.0.1:5000/app@"+d, img.RepoDigest("127.0.0.1:5000/app@"+d))
	assert.Empty(t, (&Image{}).RepoDigest("app:v2"), "a locally built image has none")
	assert.Equal(t, "app@"+d, (&Image{}).RepoDigest("app@"+d), "a digest reference names its digest")
}
