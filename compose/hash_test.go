package compose

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hashes Compose v2.40.3 put on the containers it created from
// testdata/hash (`docker compose -p hashgolden up --no-start`), with the
// file's image and with IMAGE=dswap-lab/traefik:0bb2eaae47cee428.
const (
	goldenHash          = "c8c3cc749fe33a50640ed1447396b06d4243e90d11313a396bf8594ae22bc406"
	goldenHashOtherTag  = "e1cf18bc806510afc9f40f98dc98150b99cb68d74a85e54854217db39318e5c6"
	goldenOtherImageTag = "dswap-lab/traefik:0bb2eaae47cee428"
)

func loadHashFixture(t *testing.T, env ...string) *ServiceSpec {
	t.Helper()
	f, err := Load(context.Background(), LoadOptions{Files: []string{"testdata/hash/compose.yaml"}, ProjectName: "hashgolden", Env: append([]string{}, env...)})
	require.NoError(t, err)
	s, err := f.Service("web")
	require.NoError(t, err)
	return s
}

func TestConfigHashIsComposeV2s(t *testing.T) {
	s := loadHashFixture(t)
	h, err := s.ConfigHash()
	require.NoError(t, err)
	assert.Equal(t, goldenHash, h, "the hash compose v2.40.3 computed for the same file")

	other := loadHashFixture(t, "IMAGE="+goldenOtherImageTag)
	h, err = other.ConfigHash()
	require.NoError(t, err)
	assert.Equal(t, goldenHashOtherTag, h, "interpolated from the environment")

	h, err = s.WithImage(goldenOtherImageTag).ConfigHash()
	require.NoError(t, err)
	assert.Equal(t, goldenHashOtherTag, h, "--image gives the hash of a file that names that image")
}

func TestConfigHashLeavesReplicasAlone(t *testing.T) {
	s := loadHashFixture(t)
	_, err := s.ConfigHash()
	require.NoError(t, err)
	_, err = s.BaseHash()
	require.NoError(t, err)
	require.NotNil(t, s.config.Deploy.Replicas, "compose's own ServiceHash clears it through the shared pointer; dswap's must not")
	assert.Equal(t, 2, *s.config.Deploy.Replicas)
	require.NotNil(t, s.config.Deploy.UpdateConfig)
}

func TestBaseHashIgnoresWhatDswapApplies(t *testing.T) {
	s := loadHashFixture(t)
	base, err := s.BaseHash()
	require.NoError(t, err)

	changed := *s
	changed.config.Image = "other:v9"
	changed.config.Labels = map[string]string{"a": "b"}
	changed.config.HealthCheck = nil
	b2, err := changed.BaseHash()
	require.NoError(t, err)
	assert.Equal(t, base, b2, "image, labels and healthcheck are dswap's to apply")

	changed.config.Environment = nil
	b3, err := changed.BaseHash()
	require.NoError(t, err)
	assert.NotEqual(t, base, b3, "the environment is not")
}

func TestHashLabels(t *testing.T) {
	v1 := loadHashFixture(t)
	v2 := v1.WithImage(goldenOtherImageTag)
	base, err := v2.BaseHash()
	require.NoError(t, err)
	want := map[string]string{ConfigHashLabel: goldenHashOtherTag, BaseHashLabel: base}

	tests := []struct {
		name   string
		like   Running
		vouch  bool
		reason string
	}{
		{"created by compose from the file with the old image", Running{Image: "dswap-lab/traefik:local", Labels: map[string]string{ConfigHashLabel: goldenHash}}, true, ""},
		{"created by compose from another version of the file", Running{Image: "dswap-lab/traefik:local", Labels: map[string]string{ConfigHashLabel: "0123"}}, false, "changes more than the image"},
		{"created by compose with another image than it says", Running{Image: "elsewhere:v1", Labels: map[string]string{ConfigHashLabel: goldenHash}}, false, "changes more than the image"},
		{"created by dswap from a file that differs in what dswap applies", Running{Image: "x:v1", Labels: map[string]string{ConfigHashLabel: "0123", BaseHashLabel: base}}, true, ""},
		{"created by dswap from a file that differs in more", Running{Image: "x:v1", Labels: map[string]string{ConfigHashLabel: "0123", BaseHashLabel: "4567"}}, false, "changes more than the image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := v2.HashLabels(tt.like)
			require.NoError(t, err)
			if tt.vouch {
				assert.Equal(t, want, got)
				assert.Empty(t, reason)
				return
			}
			assert.Nil(t, got)
			assert.Contains(t, reason, tt.reason)
		})
	}
}
