package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/build"
)

// BuildOptions say how to build an image instead of pulling it, like
// `docker build`.
type BuildOptions struct {
	// Context is the build context directory.
	Context string
	// Dockerfile is the -f path, relative to the working directory; ""
	// means Dockerfile in Context.
	Dockerfile string
	// Args are --build-arg values; a nil value takes the variable from
	// the environment of the build, as in the docker CLI.
	Args map[string]*string
	// Target is the stage to build in a multi-stage Dockerfile.
	Target string
}

// buildTailLines is how much build output an error quotes.
const buildTailLines = 10

// build builds ref with the Engine's legacy builder, which every Engine
// has and which needs no BuildKit session, streaming the build's output
// to the log one line at a time. Base images are pulled only with --pull
// always; otherwise the builder uses local ones, so a build works offline.
func (im *Images) build(ctx context.Context, ref string, src Source) error {
	opts := src.Build
	fail := func(err error) error {
		return &ImageError{Ref: ref, Problem: ImageBuildFailed, BuildContext: opts.Context, Err: err}
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fail(fmt.Errorf("the image name must be a valid reference: %w", err))
	}
	if _, ok := named.(reference.Digested); ok {
		return fail(errors.New("a built image is tagged with the name given, so give a tag (myapp:v2), not a digest"))
	}
	bc, err := newBuildContext(opts.Context, opts.Dockerfile)
	if err != nil {
		return fail(err)
	}
	log := im.log()
	log.Info("building", "phase", "build", "image", ref, "context", opts.Context, "dockerfile", bc.dockerfile)
	start := time.Now()
	body := bc.reader()
	defer body.Close()
	resp, err := im.Engine.api.ImageBuild(ctx, body, build.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  bc.dockerfile,
		BuildArgs:   opts.Args,
		Target:      opts.Target,
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
		PullParent:  src.Pull == PullAlways,
	})
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if err := streamBuild(resp.Body, func(line string) { log.Info(line, "phase", "build") }); err != nil {
		return fail(err)
	}
	log.Info("built", "phase", "build", "image", ref, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// buildMessage is the part of a legacy build's JSON stream dswap reads.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// err returns the error the message carries, or "".
func (m buildMessage) err() string {
	if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
		return m.ErrorDetail.Message
	}
	return m.Error
}

// streamBuild reads a build's output to its end, passing every non-empty
// line to line, and returns the build's error with its last lines.
func streamBuild(r io.Reader, line func(string)) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m buildMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the build's output: %w", err)
		}
		if msg := m.err(); msg != "" {
			if len(tail) == 0 {
				return errors.New(msg)
			}
			return fmt.Errorf("%s\nlast build output:\n  %s", msg, strings.Join(tail, "\n  "))
		}
		text := m.Stream
		if text == "" {
			text = m.Status
		}
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimRight(l, "\r ")
			if strings.TrimSpace(l) == "" {
				continue
			}
			line(l)
			if tail = append(tail, l); len(tail) > buildTailLines {
				tail = tail[1:]
			}
		}
	}
}
