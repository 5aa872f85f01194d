package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const twoServices = `
services:
  web:
    image: app:v1
  worker:
    image: app:v1
    profiles: [jobs]
`

func TestLoadFindsTheDefaultFileAsComposeDoes(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(twoServices), 0o644))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	t.Chdir(sub)

	f, err := Load(context.Background(), LoadOptions{Env: []string{}})
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "docker-compose.yml")}, f.Paths, "found in a parent directory, as docker compose finds it")
	assert.Equal(t, filepath.Base(dir), f.Project, "named after the project directory")
	assert.Equal(t, []string{"web", "worker"}, f.Services())
	assert.True(t, f.Has("worker"), "a service whose profile is off still counts")
	assert.False(t, f.Has("db"))

	s, err := f.Service("worker")
	require.NoError(t, err)
	assert.Equal(t, "worker", s.Service)
}

func TestLoadWithoutAFile(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load(context.Background(), LoadOptions{Env: []string{}})
	assert.ErrorIs(t, err, ErrNoFile)
}

func TestLoadNamesTheProjectAsComposeDoes(t *testing.T) {
	path := writeProject(t, "name: from-file\n"+twoServices, "")
	tests := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"the file's name:", LoadOptions{Files: []string{path}, Env: []string{}}, "from-file"},
		{"COMPOSE_PROJECT_NAME over the file", LoadOptions{Files: []string{path}, Env: []string{"COMPOSE_PROJECT_NAME=from-env"}}, "from-env"},
		{"--project-name over both", LoadOptions{Files: []string{path}, ProjectName: "from-flag", Env: []string{"COMPOSE_PROJECT_NAME=from-env"}}, "from-flag"},
		{"COMPOSE_FILE names the file", LoadOptions{Env: []string{"COMPOSE_FILE=" + path}}, "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Load(context.Background(), tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, f.Project)
			assert.Equal(t, []string{path}, f.Paths)
		})
	}
}

func TestLoadMergesFilesInOrder(t *testing.T) {
	base := writeProject(t, `
services:
  web:
    image: app:v1
    labels:
      a: base
      b: base
`, "")
	override := filepath.Join(filepath.Dir(base), "prod.yaml")
	require.NoError(t, os.WriteFile(override, []byte("services:\n  web:\n    image: app:v2\n    labels:\n      b: prod\n"), 0o644))
	f, err := Load(context.Background(), LoadOptions{Files: []string{base, override}, Env: []string{}})
	require.NoError(t, err)
	s, err := f.Service("web")
	require.NoError(t, err)
	assert.Equal(t, "app:v2", s.Image)
	assert.Equal(t, map[string]string{"a": "base", "b": "prod"}, s.Labels)
}

func TestServiceSpec(t *testing.T) {
	path := writeProject(t, `
services:
  web:
    build:
      context: ./app
      dockerfile: deploy/Dockerfile
      target: prod
      args:
        VERSION: ${VERSION}
    labels:
      traefik.http.routers.web.rule: Host(`+"`web.test`"+`)
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 2s
      timeout: 1s
      start_period: 5s
      retries: 4
    stop_grace_period: 1m
`, "VERSION=v7\n")
	dir := filepath.Dir(path)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "app"), 0o755))
	f, err := Load(context.Background(), LoadOptions{Files: []string{path}, ProjectName: "shop", Env: []string{}})
	require.NoError(t, err)
	s, err := f.Service("web")
	require.NoError(t, err)

	assert.Equal(t, "", s.Image)
	assert.Equal(t, "shop-web", s.DefaultImage(), "compose v2's name for a built image")
	require.NotNil(t, s.Build)
	assert.Equal(t, filepath.Join(dir, "app"), s.Build.Context)
	assert.Equal(t, filepath.Join(dir, "app", "deploy", "Dockerfile"), s.Build.Dockerfile, "relative to the context, as compose reads it")
	assert.Equal(t, "prod", s.Build.Target)
	require.NotNil(t, s.Build.Args["VERSION"])
	assert.Equal(t, "v7", *s.Build.Args["VERSION"])
	assert.Equal(t, &Healthcheck{Test: []string{"CMD", "/app", "health"}, Interval: 2 * time.Second, Timeout: time.Second, StartPeriod: 5 * time.Second, Retries: 4}, s.Healthcheck)
	assert.Equal(t, ptr(time.Minute), s.StopGracePeriod)
	assert.Equal(t, map[string]string{"traefik.http.routers.web.rule": "Host(`web.test`)"}, s.Labels)
	assert.Nil(t, s.Replicas)

	v2 := s.WithImage("app:v2")
	assert.Equal(t, "app:v2", v2.DefaultImage())
	assert.Equal(t, "", s.Image, "WithImage leaves the original alone")
}

func TestHealthcheckDisabled(t *testing.T) {
	s, err := loadService(t, "services:\n  web:\n    image: app:v1\n    healthcheck:\n      disable: true\n", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"NONE"}, s.Healthcheck.Test)
}

func TestServiceErrors(t *testing.T) {
	f, err := Load(context.Background(), LoadOptions{Files: []string{writeProject(t, twoServices, "")}, Env: []string{}})
	require.NoError(t, err)
	_, err = f.Service("db")
	assert.ErrorContains(t, err, `has no service "db"; its services are web, worker`)

	_, err = loadService(t, "services:\n  web:\n    build:\n      context: .\n      dockerfile_inline: FROM scratch\n", "")
	assert.ErrorContains(t, err, "dockerfile_inline is not supported")

	_, err = loadService(t, "services:\n  web:\n    build: ./missing\n", "")
	assert.ErrorContains(t, err, "is not a local directory")
}
