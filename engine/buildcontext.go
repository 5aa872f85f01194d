package engine

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerignoreName is the file in a context's root that lists what not to
// send to the Engine.
const dockerignoreName = ".dockerignore"

// buildContext is a directory to send to the Engine as a build context,
// with the docker CLI's rules: .dockerignore in its root excludes paths
// (patternmatcher syntax, "!" re-includes), the Dockerfile and the
// .dockerignore itself are always sent, and a Dockerfile given with -f is
// relative to the working directory and may lie outside the context, in
// which case it is sent under a generated name.
type buildContext struct {
	dir string
	// dockerfile is the Dockerfile's name inside the context.
	dockerfile string
	// outside is the path of a Dockerfile that lies outside dir; it is
	// added to the context as dockerfile.
	outside string
	matcher *patternmatcher.PatternMatcher
}

// newBuildContext checks the directory and the Dockerfile and reads the
// .dockerignore. dockerfile is the -f value: "" means Dockerfile in dir.
func newBuildContext(dir, dockerfile string) (*buildContext, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	bc := &buildContext{dir: abs}
	if err := bc.resolveDockerfile(dockerfile); err != nil {
		return nil, err
	}
	patterns, err := readDockerignore(abs)
	if err != nil {
		return nil, err
	}
	if bc.matcher, err = patternmatcher.New(patterns); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, dockerignoreName), err)
	}
	return bc, nil
}

func (bc *buildContext) resolveDockerfile(dockerfile string) error {
	var path string
	if dockerfile == "" {
		path = filepath.Join(bc.dir, "Dockerfile")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			// The docker CLI accepts a lowercase name too.
			if _, lerr := os.Stat(filepath.Join(bc.dir, "dockerfile")); lerr == nil {
				path = filepath.Join(bc.dir, "dockerfile")
			}
		}
	} else {
		abs, err := filepath.Abs(dockerfile)
		if err != nil {
			return fmt.Errorf("dockerfile %s: %w", dockerfile, err)
		}
		path = abs
	}
	if st, err := os.Stat(path); err != nil {
		return fmt.Errorf("no Dockerfile: %w (pass -f PATH)", err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("dockerfile %s is not a file", path)
	}
	rel, err := filepath.Rel(bc.dir, path)
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		bc.dockerfile = filepath.ToSlash(rel)
		return nil
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	bc.dockerfile = ".dockerfile." + hex.EncodeToString(b)
	bc.outside = path
	return nil
}

// readDockerignore returns the exclude patterns of dir/.dockerignore, or
// none when it does not exist.
func readDockerignore(dir string) ([]string, error) {
	path := filepath.Join(dir, dockerignoreName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return patterns, nil
}

// excluded reports whether the context path rel (slash-separated) is not
// sent. The Dockerfile and .dockerignore always are, as with the docker
// CLI, since the Engine needs the one and may read the other.
func (bc *buildContext) excluded(rel string) (bool, error) {
	if rel == bc.dockerfile || rel == dockerignoreName {
		return false, nil
	}
	return bc.matcher.MatchesOrParentMatches(rel)
}

// mayHoldIncluded reports whether an excluded directory may still hold
// paths that a "!" pattern re-includes, so the walk must enter it.
func (bc *buildContext) mayHoldIncluded(rel string) bool {
	if strings.HasPrefix(bc.dockerfile, rel+"/") {
		return true
	}
	if !bc.matcher.Exclusions() {
		return false
	}
	for _, p := range bc.matcher.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", rel+"/") {
			return true
		}
	}
	return false
}

// writeTar writes the context as an uncompressed tar stream, the form the
// Engine's build API takes.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(bc.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(bc.dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		skip, err := bc.excluded(rel)
		if err != nil {
			return fmt.Errorf("matching %s against %s: %w", rel, dockerignoreName, err)
		}
		if skip {
			if d.IsDir() && !bc.mayHoldIncluded(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		return addToTar(tw, path, rel)
	})
	if err == nil && bc.outside != "" {
		err = addToTar(tw, bc.outside, bc.dockerfile)
	}
	if err != nil {
		return fmt.Errorf("sending build context %s: %w", bc.dir, err)
	}
	return tw.Close()
}

// addToTar adds one file, directory or symlink; other kinds (sockets,
// devices) are left out, as the Engine could not use them.
func addToTar(tw *tar.Writer, path, name string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	var link string
	switch mode := info.Mode(); {
	case mode.IsRegular(), mode.IsDir():
	case mode&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	default:
		return nil
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	// Ownership on this machine means nothing in the image: COPY and ADD
	// make files root's unless told otherwise.
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// reader streams the tar through a pipe as the Engine reads it.
func (bc *buildContext) reader() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(bc.writeTar(pw)) }()
	return pr
}
