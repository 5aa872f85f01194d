package main

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockHolderNamesTheCommandAndImageOnly(t *testing.T) {
	fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
	fs.String("registry-auth", "", "")
	fs.StringArray("build-arg", nil, "")
	fs.String("service", "", "")
	require.NoError(t, fs.Parse([]string{"--registry-auth", "u:hunter2", "--build-arg=TOKEN=s3cret", "myapp:v2", "--service", "shop/web"}))
	got := holderCommand(fs)
	assert.Equal(t, "dswap up myapp:v2", got)
	assert.NotContains(t, got, "hunter2")
	assert.NotContains(t, got, "s3cret")
}
