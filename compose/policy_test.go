package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/settings"
)

// writeProject writes compose.yaml (and .env when given) into a new
// directory and returns the file's path.
func writeProject(t *testing.T, composeYAML, dotenv string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "compose.yaml")
	require.NoError(t, os.WriteFile(path, []byte(composeYAML), 0o644))
	if dotenv != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o644))
	}
	return path
}

func loadService(t *testing.T, composeYAML, dotenv string, env ...string) (*ServiceSpec, error) {
	t.Helper()
	f, err := Load(context.Background(), LoadOptions{Files: []string{writeProject(t, composeYAML, dotenv)}, ProjectName: "p", Env: append([]string{}, env...)})
	if err != nil {
		return nil, err
	}
	return f.Service("web")
}

func ptr[T any](v T) *T { return &v }

func TestUpdateConfig(t *testing.T) {
	tests := []struct {
		name    string
		deploy  string // the service's deploy: section
		dotenv  string
		env     []string
		want    UpdateConfig
		wantErr string
	}{
		{name: "no update_config", deploy: "replicas: 2", want: UpdateConfig{}},
		{name: "all keys", deploy: `
      update_config:
        parallelism: 2
        delay: 5s
        order: start-first
        failure_action: pause
        monitor: 1m
        max_failure_ratio: 0.3`,
			want: UpdateConfig{Parallelism: ptr(2), Delay: ptr(5 * time.Second), Order: ptr("start-first"), FailureAction: ptr("pause"), MaxFailureRatio: ptr(0.3), Monitor: ptr(time.Minute)}},
		{name: "parallelism 0 is all at once", deploy: `
      update_config:
        parallelism: 0`, want: UpdateConfig{Parallelism: ptr(0)}},
		{name: "stop-first is allowed", deploy: `
      update_config:
        order: stop-first`, want: UpdateConfig{Order: ptr("stop-first")}},
		{name: "rollback", deploy: `
      update_config:
        failure_action: rollback`, want: UpdateConfig{FailureAction: ptr("rollback")}},
		{name: "interpolated from .env", deploy: `
      update_config:
        parallelism: ${PARALLEL}
        delay: ${DELAY:-2s}
        failure_action: ${ON_FAILURE}`, dotenv: "PARALLEL=3\nON_FAILURE=pause\n",
			want: UpdateConfig{Parallelism: ptr(3), Delay: ptr(2 * time.Second), FailureAction: ptr("pause")}},
		{name: "the environment wins over .env", deploy: `
      update_config:
        parallelism: ${PARALLEL}`, dotenv: "PARALLEL=3\n", env: []string{"PARALLEL=1"},
			want: UpdateConfig{Parallelism: ptr(1)}},
		{name: "continue is refused", deploy: `
      update_config:
        failure_action: continue`, wantErr: "failure_action continue is not offered by dswap"},
		{name: "unknown failure action", deploy: `
      update_config:
        failure_action: retry`, wantErr: `deploy.update_config: failure_action "retry" is not rollback or pause`},
		{name: "unknown order is refused by compose's schema", deploy: `
      update_config:
        order: random`, wantErr: "order value must be one of"},
		{name: "ratio above one", deploy: `
      update_config:
        max_failure_ratio: 1.5`, wantErr: `max_failure_ratio "1.5" is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := "services:\n  web:\n    image: app:v1\n    deploy:\n      " + trimIndent(tt.deploy) + "\n"
			s, err := loadService(t, yml, tt.dotenv, tt.env...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Update)
		})
	}
}

// trimIndent lets the table write deploy sections at the indentation they
// have in the file.
func trimIndent(s string) string {
	for len(s) > 0 && (s[0] == '\n' || s[0] == ' ') {
		s = s[1:]
	}
	return s
}

func TestServicePolicyKeys(t *testing.T) {
	s, err := loadService(t, `
services:
  web:
    image: ${APP_IMAGE}
    stop_grace_period: ${GRACE}
    deploy:
      replicas: 3
    x-dswap:
      drain: 12s
      health-timeout: 1m
      monitor: 30s
      probe-interval: 100ms
      no-healthcheck: true
      settle: 4s
`, "APP_IMAGE=app:v2\nGRACE=20s\n")
	require.NoError(t, err)
	assert.Equal(t, "app:v2", s.Image)
	assert.Equal(t, ptr(20*time.Second), s.StopGracePeriod)
	assert.Equal(t, ptr(3), s.Replicas)
	assert.Equal(t, settings.Overrides{
		Drain: ptr(12 * time.Second), HealthTimeout: ptr(time.Minute), Monitor: ptr(30 * time.Second),
		ProbeInterval: ptr(100 * time.Millisecond), NoHealthcheck: ptr(true), Settle: ptr(4 * time.Second),
	}, s.Settings)

	s, err = loadService(t, "services:\n  web:\n    image: app:v1\n    scale: 2\n", "")
	require.NoError(t, err)
	assert.Equal(t, ptr(2), s.Replicas, "scale: counts like deploy.replicas")
}

func TestExtensionErrors(t *testing.T) {
	tests := []struct{ name, ext, want string }{
		{"unknown key", "x-dswap:\n      drian: 3s", `"drian" is not a dswap setting`},
		{"duration without unit", "x-dswap:\n      drain: 30", `x-dswap drain "30" is not a duration: missing unit, e.g. 30s`},
		{"not a mapping", "x-dswap: 3s", "must be a mapping"},
		{"bad boolean", "x-dswap:\n      no-healthcheck: maybe", "not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadService(t, "services:\n  web:\n    image: app:v1\n    "+tt.ext+"\n", "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// x-dswap pre: and post: are YAML lists: a string is a shell command, a
// list of strings the exec form; both reach the settings as the flag's
// values would.
func TestExtensionTaskLists(t *testing.T) {
	s, err := loadService(t, `
services:
  web:
    image: app:v2
    x-dswap:
      pre:
        - php bin/hyperf.php migrate --force
        - ["/app", "seed", "--env=${STAGE}"]
      post: [php bin/hyperf.php cache:warm]
      task-timeout: 2m
      post-failure: rollback
`, "STAGE=prod\n")
	require.NoError(t, err)
	assert.Equal(t, ptr([]string{"php bin/hyperf.php migrate --force", `["/app","seed","--env=prod"]`}), s.Settings.Pre)
	assert.Equal(t, ptr([]string{"php bin/hyperf.php cache:warm"}), s.Settings.Post)
	assert.Equal(t, ptr(2*time.Minute), s.Settings.TaskTimeout)
	assert.Equal(t, ptr("rollback"), s.Settings.PostFailure)

	s, err = loadService(t, "services:\n  web:\n    image: app:v2\n    x-dswap:\n      pre: migrate\n", "")
	require.NoError(t, err)
	assert.Equal(t, ptr([]string{"migrate"}), s.Settings.Pre, "a single command may be a plain string")

	for _, tc := range []struct{ name, ext, want string }{
		{"multi-line item", "pre:\n        - |\n          a\n          b", "x-dswap.pre: item 1 spans several lines"},
		{"number in the exec form", "pre:\n        - [\"/app\", 3]", "x-dswap.pre: item 1: the exec form is a list of strings"},
		{"mapping item", "post:\n        - run: x", "x-dswap.post: item 1: want a command"},
		{"empty exec form", "pre:\n        - []", `x-dswap pre "[]" is neither a shell command nor a JSON array of strings`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadService(t, "services:\n  web:\n    image: app:v2\n    x-dswap:\n      "+tc.ext+"\n", "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
