package lab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTraefikV2Args(t *testing.T) {
	args := traefikArgs([]string{"--log.level=DEBUG"}, "")
	v2 := traefikV2Args(args)
	assert.NotContains(t, v2, "--log.noColor=true", "Traefik v2 has no log.noColor and refuses to start with it")
	assert.Contains(t, args, "--log.noColor=true", "the v3 command line is left as it was")
	assert.Equal(t, len(args)-1, len(v2))
	for _, want := range []string{"--api.insecure=true", "--providers.file.directory=/routes", "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false"} {
		assert.Contains(t, v2, want)
	}
	assert.Equal(t, "--log.level=DEBUG", v2[len(v2)-1])
}
