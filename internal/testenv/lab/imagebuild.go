package lab

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// contextFile is one file of an in-memory build context. Exactly one of
// Data and Path is set: Path streams a large file (such as traefik) from
// disk instead of holding it in memory.
type contextFile struct {
	Name string
	Mode int64
	Data []byte
	Path string
}

// writeBuildContext writes files as an uncompressed tar stream, the form the
// Engine's build API takes as its context.
func writeBuildContext(w io.Writer, files []contextFile) error {
	tw := tar.NewWriter(w)
	// A fixed time keeps the context bytes stable, which lets the legacy
	// builder's cache reuse layers across runs.
	modTime := time.Unix(0, 0)
	for _, f := range files {
		if err := writeContextFile(tw, f, modTime); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finishing build context tar: %w", err)
	}
	return nil
}

// writeContextFile adds one file to tw.
func writeContextFile(tw *tar.Writer, f contextFile, modTime time.Time) error {
	hdr := &tar.Header{Name: f.Name, Mode: f.Mode, ModTime: modTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if f.Path == "" {
		hdr.Size = int64(len(f.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("adding %s to build context: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("adding %s to build context: %w", f.Name, err)
		}
		return nil
	}
	src, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("adding %s to build context: %w", f.Name, err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return fmt.Errorf("adding %s to build context: %w", f.Name, err)
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("adding %s to build context: %w", f.Name, err)
	}
	if _, err := io.Copy(tw, src); err != nil {
		return fmt.Errorf("adding %s (from %s) to build context: %w", f.Name, f.Path, err)
	}
	return nil
}

// buildImage builds an image from files with the legacy builder, which every
// Engine since 1.x has and which needs no BuildKit session. It returns the
// image ID reported by the build.
func buildImage(ctx context.Context, docker *client.Client, files []contextFile, tags []string, log io.Writer) (string, error) {
	pr, pw := io.Pipe()
	writeErr := make(chan error, 1)
	go func() {
		err := writeBuildContext(pw, files)
		_ = pw.CloseWithError(err)
		writeErr <- err
	}()

	resp, err := docker.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        tags,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
		Dockerfile:  "Dockerfile",
	})
	if err != nil {
		// Unblock the context writer, which may be waiting for a reader.
		_ = pr.CloseWithError(err)
		<-writeErr
		return "", fmt.Errorf("building image %s: %w", strings.Join(tags, ", "), err)
	}
	id, streamErr := readBuildStream(resp.Body, log)
	_ = resp.Body.Close()
	_ = pr.CloseWithError(errors.New("build finished"))
	if err := <-writeErr; err != nil && streamErr == nil {
		streamErr = err
	}
	if streamErr != nil {
		return "", fmt.Errorf("building image %s: %w", strings.Join(tags, ", "), streamErr)
	}
	return id, nil
}

// buildMessage is the subset of the Engine's JSON progress message that a
// legacy build emits.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

// buildTailLines is how much build output an error quotes.
const buildTailLines = 15

// readBuildStream reads the build's JSON message stream to its end, copying
// the human output to log, and returns the built image ID or the first error
// the Engine reported, with the last lines of output for context.
func readBuildStream(r io.Reader, log io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	var (
		id       string
		buildErr string
		tail     []string
	)
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("reading build output: %w", err)
		}
		text := m.Stream
		if text == "" {
			text = m.Status
		}
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			fmt.Fprintf(log, "lab: build: %s\n", line)
			tail = append(tail, line)
			if len(tail) > buildTailLines {
				tail = tail[1:]
			}
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(m.Stream), "Successfully built "); ok && id == "" {
			// Engines that send no aux message still print this line.
			id = strings.TrimSpace(rest)
		}
		if len(m.Aux) > 0 {
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
		if buildErr == "" {
			switch {
			case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
				buildErr = m.ErrorDetail.Message
			case m.Error != "":
				buildErr = m.Error
			}
		}
	}
	if buildErr != "" {
		return "", fmt.Errorf("%s\nlast build output:\n%s", buildErr, strings.Join(tail, "\n"))
	}
	if id == "" {
		return "", fmt.Errorf("build output ended without an image ID\nlast build output:\n%s", strings.Join(tail, "\n"))
	}
	return id, nil
}
