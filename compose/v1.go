package compose

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// V1 computes docker-compose v1's config hashes. v1 (1.29) hashes its own
// normalised form of the service's options together with the ID of the
// image the file names (service.config_hash in compose/service.py), a form
// that only v1 itself reproduces exactly; so dswap asks it, with
// `docker-compose config --hash=SERVICE`, which computes the same hash
// `docker-compose up` compares.
type V1 struct {
	// Bin is the docker-compose v1 executable.
	Bin string
	// Env is its environment; nil means this process's.
	Env []string
}

// FindV1 returns docker-compose v1 from PATH, or an error saying why not
// (absent, or a v2 binary under that name).
func FindV1(ctx context.Context) (*V1, error) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		return nil, fmt.Errorf("docker-compose (v1) is not on PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, bin, "version", "--short").Output()
	if err != nil {
		return nil, fmt.Errorf("asking %s its version: %w", bin, err)
	}
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "1.") {
		return nil, fmt.Errorf("%s is version %s, not 1.x", bin, v)
	}
	return &V1{Bin: bin}, nil
}

// IsV1 says whether a container was created by docker-compose v1.
func IsV1(labels map[string]string) bool {
	return strings.HasPrefix(labels[VersionLabel], "1.")
}

// ConfigHash is v1's config hash of the service with its image set to
// image (the files' own image when image is ""). The image must be local:
// v1 hashes its ID.
func (v *V1) ConfigHash(ctx context.Context, f *File, service, image string) (string, error) {
	paths := f.Paths
	if image != "" {
		// A copy of the file with the image replaced, rather than an
		// override file: v1's merge of two files drops the service's x-
		// keys, which changes its hash. The copy is read with the same
		// project directory, so relative paths and .env resolve as before.
		copied, cleanup, err := withImage(f.Paths, service, image)
		if err != nil {
			return "", err
		}
		defer cleanup()
		paths = copied
	}
	args := []string{"--project-name", f.Project, "--project-directory", f.Dir}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	args = append(args, "config", "--hash="+service)
	cmd := exec.CommandContext(ctx, v.Bin, args...)
	cmd.Dir = f.Dir
	cmd.Env = v.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("docker-compose %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if name, hash, ok := strings.Cut(strings.TrimSpace(line), " "); ok && name == service {
			return hash, nil
		}
	}
	return "", fmt.Errorf("docker-compose config --hash=%s printed no hash for %s: %q", service, service, out)
}

// withImage returns the compose files with the last one that sets the
// service's image: replaced by a temporary copy that sets it to image.
func withImage(paths []string, service, image string) ([]string, func(), error) {
	for i := len(paths) - 1; i >= 0; i-- {
		b, err := os.ReadFile(paths[i])
		if err != nil {
			return nil, nil, err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", paths[i], err)
		}
		node := lookup(&doc, "services", service, "image")
		if node == nil {
			continue
		}
		node.Kind, node.Tag, node.Style, node.Value = yaml.ScalarNode, "!!str", yaml.DoubleQuotedStyle, image
		out, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, nil, err
		}
		dir, err := os.MkdirTemp("", "dswap-compose-")
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() { os.RemoveAll(dir) }
		copied := filepath.Join(dir, filepath.Base(paths[i]))
		if err := os.WriteFile(copied, out, 0o600); err != nil {
			cleanup()
			return nil, nil, err
		}
		res := append([]string(nil), paths...)
		res[i] = copied
		return res, cleanup, nil
	}
	return nil, nil, fmt.Errorf("no compose file sets services.%s.image itself (extends?), so dswap cannot ask docker-compose for the hash with another image", service)
}

// lookup follows mapping keys from a YAML document node.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// HashLabels is ServiceSpec.HashLabels for a project docker-compose v1
// created: it returns v1's config hash for the new container when like
// was created from these files apart from its image (v1's hash of the
// files with like's image equals like's), else nil and the reason.
func (v *V1) HashLabels(ctx context.Context, f *File, s *ServiceSpec, like Running) (map[string]string, string, error) {
	image := s.Image
	if image == s.fileImage {
		image = "" // the files as they are: no copy needed
	}
	// Each run of docker-compose costs a second or two of Python start-up;
	// the two are independent, so they run at once.
	type result struct {
		hash string
		err  error
	}
	oldc, newc := make(chan result, 1), make(chan result, 1)
	go func() { h, err := v.ConfigHash(ctx, f, s.Service, like.Image); oldc <- result{h, err} }()
	go func() { h, err := v.ConfigHash(ctx, f, s.Service, image); newc <- result{h, err} }()
	old, hash := <-oldc, <-newc
	switch {
	case old.err != nil:
		return nil, "", old.err
	case old.hash != like.Labels[ConfigHashLabel]:
		return nil, "the compose file changes more than the image of the running containers (or they were not created from it)", nil
	case hash.err != nil:
		return nil, "", hash.err
	}
	return map[string]string{ConfigHashLabel: hash.hash}, "", nil
}
