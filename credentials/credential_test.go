package credentials

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUserPassword(t *testing.T) {
	c, err := ParseUserPassword("alice:pa:ss\n")
	require.NoError(t, err)
	assert.Equal(t, Credential{Username: "alice", Password: "pa:ss"}, c)

	for _, bad := range []string{"alicehunter2", ":hunter2", "alice:", ""} {
		_, err := ParseUserPassword(bad)
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "hunter2", "the error must not quote the value")
		assert.NotContains(t, err.Error(), "alice", "the error must not quote the value")
	}
}

func TestCredentialNeverPrintsSecrets(t *testing.T) {
	c := Credential{Username: "alice", Password: "hunter2", IdentityToken: "tok3n", RegistryToken: "bear3r"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "cred", c)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logged.String(),
		fmt.Sprintf("%+v", Found{Credential: c}),
	} {
		for _, secret := range []string{"hunter2", "tok3n", "bear3r"} {
			assert.NotContains(t, s, secret)
		}
	}
	assert.Equal(t, "no credentials", Credential{}.String())
}
