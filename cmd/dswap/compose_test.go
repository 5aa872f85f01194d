package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/swap"
)

const shopCompose = `
name: shop
services:
  web:
    image: myapp:v1
    stop_grace_period: 20s
    labels:
      dswap.drain: 9s
      dswap.health-timeout: 40s
    deploy:
      replicas: 3
      update_config:
        parallelism: 2
        order: stop-first
    x-dswap:
      monitor: 1m
  db:
    image: postgres:16
`

func upFlagsOf(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := newUpCommand(newCLI(io.Discard, io.Discard)).Flags()
	require.NoError(t, fs.Parse(args))
	return fs
}

// inProject runs the test in a directory holding compose.yaml.
func inProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(shopCompose), 0o644))
	t.Chdir(dir)
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	return dir
}

var discard = slog.New(slog.DiscardHandler)

// resolveUp resolves `dswap up arg` with the flags fs as the command does.
func resolveUp(ctx context.Context, fs *pflag.FlagSet, arg string, log *slog.Logger) (*compose.Target, error) {
	opts, err := readUpOptions(fs, []string{arg})
	if err != nil {
		return nil, err
	}
	target, err := compose.ResolveTarget(ctx, opts.target, log)
	return target, badInput(err)
}

func TestTheArgumentIsAServiceOrAnImage(t *testing.T) {
	dir := inProject(t)
	tests := []struct {
		name      string
		args      []string
		image     string
		service   string
		wantErr   string
		isCompose bool
	}{
		{name: "a service of the default file", args: []string{"web"}, image: "myapp:v1", service: "shop/web", isCompose: true},
		{name: "--image overrides the file's image", args: []string{"web", "--image", "myapp:v2"}, image: "myapp:v2", service: "shop/web", isCompose: true},
		{name: "--project-name names the project", args: []string{"web", "-p", "other"}, image: "myapp:v1", service: "other/web", isCompose: true},
		{name: "not a service: an image", args: []string{"myapp:v2"}, image: "myapp:v2"},
		{name: "a name that is no service is an image too", args: []string{"cache"}, image: "cache"},
		{name: "explicit -f and no such service", args: []string{"wbe", "-f", filepath.Join(dir, "compose.yaml")}, wantErr: `has no service "wbe"; its services are db, web`},
		{name: "explicit -f and an image", args: []string{"myapp:v2", "-f", filepath.Join(dir, "compose.yaml")}, wantErr: "run dswap up SERVICE --image myapp:v2 -f FILE"},
		{name: "--image without a service", args: []string{"myapp:v2", "--image", "myapp:v3"}, wantErr: "--image goes with a compose SERVICE"},
		{name: "--service beside a compose service", args: []string{"web", "--service", "api"}, wantErr: "--service is not needed"},
		{name: "--build beside a compose service", args: []string{"web", "--build", "."}, wantErr: "drop --build"},
		{name: "with --build, -f is the Dockerfile", args: []string{"myapp:v2", "--build", ".", "-f", "Dockerfile.prod"}, image: "myapp:v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := upFlagsOf(t, tt.args[1:]...)
			got, err := resolveUp(context.Background(), fs, tt.args[0], discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, exitBadInput, exitCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.image, got.Image)
			assert.Equal(t, tt.service, got.Service)
			assert.Equal(t, tt.isCompose, got.Spec != nil)
		})
	}
}

func TestNoComposeFile(t *testing.T) {
	t.Chdir(t.TempDir())
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	got, err := resolveUp(context.Background(), upFlagsOf(t), "web", discard)
	require.NoError(t, err)
	assert.Equal(t, "web", got.Image, "no compose file: an image, as before")
	_, err = resolveUp(context.Background(), upFlagsOf(t, "--image", "myapp:v2"), "web", discard)
	assert.ErrorContains(t, err, "no compose file was found")
}

func TestComposeFileLayering(t *testing.T) {
	inProject(t)
	target, err := resolveUp(context.Background(), upFlagsOf(t), "web", discard)
	require.NoError(t, err)

	over, err := target.Overrides(swap.Overrides{}, discard)
	require.NoError(t, err)
	cfg, err := swap.Layer(over, labelsOfTemplate(t))
	require.NoError(t, err)
	assert.Equal(t, 20*time.Second, cfg.Drain, "stop_grace_period over the file's dswap.drain label")
	assert.Equal(t, 40*time.Second, cfg.HealthTimeout, "the file's dswap.* label over the running containers'")
	assert.Equal(t, time.Minute, cfg.Monitor, "x-dswap")
	assert.Equal(t, 2, cfg.Update.Parallelism)
	assert.Equal(t, "stop-first", cfg.Update.Order, "allowed, with a warning")
	assert.Equal(t, "rollback", cfg.Update.FailureAction, "dswap's default, not Swarm's pause")
	assert.Equal(t, 3, cfg.Update.Replicas)

	drain, order := 5*time.Second, "start-first"
	over, err = target.Overrides(swap.Overrides{Drain: &drain, Order: &order}, discard)
	require.NoError(t, err)
	cfg, err = swap.Layer(over, labelsOfTemplate(t))
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, cfg.Drain, "a flag or DSWAP_* variable wins over the file")
	assert.Equal(t, "start-first", cfg.Update.Order)
}

// labelsOfTemplate are the dswap.* labels of the running containers: a
// drain and a health timeout the file overrides.
func labelsOfTemplate(t *testing.T) labels.Settings {
	t.Helper()
	s, err := labels.DecodeSettings(map[string]string{"dswap.drain": "1s", "dswap.health-timeout": "2s", "dswap.settle": "3s"})
	require.NoError(t, err)
	return s
}

// unsetenv removes variables for the test, and puts them back after.
func unsetenv(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		t.Setenv(k, "") // restores the old value at the end
		require.NoError(t, os.Unsetenv(k))
	}
}

func TestComposeGoWarningsGoToTheLog(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("version: \"3.8\"\n"+shopCompose), 0o644))
	t.Chdir(dir)
	unsetenv(t, "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	_, err := resolveUp(context.Background(), upFlagsOf(t), "web", log)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), `"msg":"`+filepath.Join(dir, "compose.yaml")+`: the attribute `+"`version`"+` is obsolete`)
	assert.Contains(t, buf.String(), `"level":"WARN"`)
}
