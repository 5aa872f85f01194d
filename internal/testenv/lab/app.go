package lab

import (
	"context"
	"fmt"
	"time"
)

// AppImage describes a testapp image for BuildApp.
type AppImage struct {
	Tag               string            // e.g. "<prefix>-app:v1"
	Version           string            // ENV VERSION: the body testapp answers with
	Env               map[string]string // extra ENV baked into the image, e.g. NEVER_HEALTHY=1
	HealthInterval    time.Duration     // HEALTHCHECK --interval; 0 means 1s
	HealthStartPeriod time.Duration     // HEALTHCHECK --start-period; 0 leaves it out
	HealthRetries     int               // HEALTHCHECK --retries; 0 means 3
	NoHealthcheck     bool              // no HEALTHCHECK instruction at all
	StopSignal        string            // optional STOPSIGNAL
	Labels            map[string]string // LABELs baked into the image
	// Shell installs testapp as /bin/sh too (it then reads `-c SCRIPT`,
	// see testapp's shell.go), with CMD instead of ENTRYPOINT, as images
	// with a shell usually are: for release tasks in the shell form.
	Shell bool
}

// BuildApp builds a testapp image FROM scratch and tags it img.Tag. The
// testapp binary is compiled once per process. Close removes the tag again.
func (l *Lab) BuildApp(ctx context.Context, img AppImage) error {
	if img.Tag == "" {
		return fmt.Errorf("building app image: AppImage.Tag is required")
	}
	if img.Version == "" {
		return fmt.Errorf("building app image %s: AppImage.Version is required (it is what the app answers)", img.Tag)
	}
	dockerfile, err := renderAppDockerfile(img, l.Prefix)
	if err != nil {
		return fmt.Errorf("building app image: %w", err)
	}
	bin, err := testappBinary(ctx, l.log)
	if err != nil {
		return fmt.Errorf("building app image %s: %w", img.Tag, err)
	}
	// Track the tag before building so that a build that tagged the image
	// and then failed is still cleaned up.
	l.mu.Lock()
	l.images = append(l.images, img.Tag)
	l.mu.Unlock()

	l.logf("building app image %s (version %s)", img.Tag, img.Version)
	files := []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(dockerfile)},
		{Name: "testapp", Mode: 0o755, Data: bin},
	}
	if _, err := buildImage(ctx, l.Docker, files, []string{img.Tag}, l.log); err != nil {
		return err
	}
	return nil
}
