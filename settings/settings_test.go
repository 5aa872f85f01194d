package settings

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite README.md's settings table from the table")

// TestREADMESettingsTable fails when README.md's table of settings is not
// what the table generates; `go generate ./settings` rewrites it.
func TestREADMESettingsTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	want, ok := Splice(string(data), Markdown())
	require.True(t, ok, "README.md lacks the markers of the settings table:\n%s\n%s", MarkdownBegin, MarkdownEnd)
	if *update {
		require.NoError(t, os.WriteFile("../README.md", []byte(want), 0o644))
		return
	}
	assert.Equal(t, want, string(data), "README.md's settings table differs from settings/table.go: run go generate ./settings")
}

func TestTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range All {
		for _, k := range []string{"--" + s.Name, s.Env, s.Label, "x-dswap." + s.Compose, "json." + s.JSON} {
			if k == "" || k == "x-dswap." || k == "json." {
				continue
			}
			assert.False(t, seen[k], "%s is declared twice", k)
			seen[k] = true
		}
		assert.NotEmpty(t, s.Help, s.Name)
		if s.Env != "" {
			assert.Equal(t, "DSWAP_"+strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_")), s.Env, "a variable is its flag's name")
		}
		if s.Label != "" {
			assert.Equal(t, "dswap."+s.Name, s.Label)
		}
		if s.Compose != "" {
			assert.Equal(t, s.Name, s.Compose, "x-dswap keys are spelt as the flags")
		}
		if s.JSON != "" && s.field != nil {
			_, ok := s.Value(&Overrides{})
			assert.False(t, ok)
		}
		if s.Default != "" {
			_, err := s.Parse("default", s.Default)
			assert.NoError(t, err, s.Name)
		}
	}
}

func TestOneParserPerKind(t *testing.T) {
	tests := []struct {
		setting, value string
		want           any
		wantErr        string
	}{
		{"drain", "10s", 10 * time.Second, ""},
		{"drain", "10", nil, `DSWAP_DRAIN "10" is not a duration: missing unit, e.g. 10s`},
		{"drain", "soon", nil, `DSWAP_DRAIN "soon" is not a duration such as 30s or 1m30s`},
		{"drain", "-1s", nil, `DSWAP_DRAIN "-1s" is negative`},
		{"parallelism", "2", 2, ""},
		{"parallelism", "two", nil, `DSWAP_PARALLELISM "two" is not a whole number`},
		{"parallelism", "-1", nil, "negative"},
		{"max-failure-ratio", "0.3", 0.3, ""},
		{"max-failure-ratio", "1.5", nil, `DSWAP_MAX_FAILURE_RATIO "1.5" is out of range: want a value from 0 to 1`},
		{"no-healthcheck", "yes", nil, `DSWAP_NO_HEALTHCHECK "yes" is not true or false`},
		{"order", "stop-first", "stop-first", ""},
		{"order", "random", nil, `DSWAP_ORDER "random" is not start-first or stop-first`},
		{"pull", "sometimes", nil, "not missing, always or never"},
		{"health-cmd", " ", nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.setting+"="+tt.value, func(t *testing.T) {
			s := Get(tt.setting)
			got, err := s.Parse(s.Env, tt.value)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.True(t, errors.Is(err, ErrMalformed))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadLayersHighestFirst(t *testing.T) {
	flags := Map("", map[string]string{"--drain": "2s"}, func(s *Setting) string { return "--" + s.Name })
	env := Env(func(k string) (string, bool) {
		v, ok := map[string]string{"DSWAP_DRAIN": "5s", "DSWAP_PARALLELISM": "3", "DSWAP_HEALTH_CMD": ""}[k]
		return v, ok
	})
	labels := Map("label", map[string]string{"dswap.drain": "9s", "dswap.settle": "4s"}, LabelKey)
	got, err := Read(flags, env, labels)
	require.NoError(t, err)
	assert.Equal(t, Overrides{Drain: ptr(2 * time.Second), Parallelism: ptr(3), Settle: ptr(4 * time.Second)}, got, "an empty text variable is unset")

	_, err = Read(flags, Map("label", map[string]string{"dswap.settle": "4"}, LabelKey))
	assert.EqualError(t, err, `label dswap.settle "4" is not a duration: missing unit, e.g. 4s`, "a malformed value names its layer and key")
}

func TestAtomicIsParallelismZero(t *testing.T) {
	src := func(m map[string]string) Source {
		return Env(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	}
	got, err := Read(src(map[string]string{"DSWAP_ATOMIC": "true"}))
	require.NoError(t, err)
	assert.Equal(t, ptr(0), got.Parallelism)
	_, err = Read(src(map[string]string{"DSWAP_ATOMIC": "true", "DSWAP_PARALLELISM": "2"}))
	assert.ErrorContains(t, err, "DSWAP_ATOMIC replaces every replica in one batch; it cannot be combined with parallelism 2")
}

func TestMergeTakesTheFirstSetValue(t *testing.T) {
	got := Merge(Overrides{Parallelism: ptr(1)}, Overrides{Parallelism: ptr(2), Replicas: ptr(3)}, Overrides{Drain: ptr(time.Second), Replicas: ptr(1)})
	assert.Equal(t, Overrides{Parallelism: ptr(1), Replicas: ptr(3), Drain: ptr(time.Second)}, got)
	d := Defaults()
	assert.Equal(t, ptr(30*time.Second), d.Drain)
	assert.Equal(t, ptr("start-first"), d.Order)
	assert.Nil(t, d.HealthTimeout, "derived from the HEALTHCHECK")
}

func TestRequestJSON(t *testing.T) {
	full := Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{
		Drain: ptr(10 * time.Second), HealthTimeout: ptr(90 * time.Second), HealthCmd: ptr("curl -f localhost"), NoHealthcheck: ptr(false),
		Settle: ptr(5 * time.Second), FlipTimeout: ptr(20 * time.Second), ProbeInterval: ptr(time.Duration(0)), Monitor: ptr(2 * time.Minute),
		Parallelism: ptr(2), Delay: ptr(time.Second), Order: ptr("stop-first"), FailureAction: ptr("pause"), MaxFailureRatio: ptr(0.25),
		Replicas: ptr(3), Pull: ptr("always"), LockWait: ptr(time.Duration(0)), Force: ptr(true),
	}}
	data, err := json.Marshal(full)
	require.NoError(t, err)
	assert.JSONEq(t, `{"image":"myapp:v2","service":"shop/web","drain":"10s","health_timeout":"1m30s","health_cmd":"curl -f localhost",
		"no_healthcheck":false,"settle":"5s","flip_timeout":"20s","probe_interval":"0s","monitor":"2m0s","parallelism":2,"update_delay":"1s",
		"order":"stop-first","failure_action":"pause","max_failure_ratio":0.25,"replicas":3,"pull":"always","force":true,"lock_wait":"0s"}`, string(data))
	var back Request
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, full, back, "the request travels as it is")

	for body, want := range map[string]string{
		`{"image":"a","drian":"1s"}`:      `json: unknown field "drian"`,
		`{"image":"a","drain":"10"}`:      `request field drain "10" is not a duration: missing unit, e.g. 10s`,
		`{"image":"a","drain":30}`:        `request field drain "30" is not a duration: missing unit, e.g. 30s`,
		`{"image":"a","parallelism":"2"}`: `request field parallelism "\"2\"" is not a whole number`,
		`{"image":"a","force":"yes"}`:     `request field force "\"yes\"" is not true or false`,
	} {
		assert.EqualError(t, json.Unmarshal([]byte(body), &back), want, body)
	}
	require.NoError(t, json.Unmarshal([]byte(`{"image":"a","drain":""}`), &back))
	assert.Nil(t, back.Drain, "an empty string is unset, as the API always took it")
}

func ptr[T any](v T) *T { return &v }
