package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitBadConfig, wantStderr: `unknown command "frobnicate"`},
		{name: "no args means serve", env: map[string]string{"EXIT_AT_START": "1"}, wantCode: exitAtStart, wantStderr: "EXIT_AT_START=1"},
		{name: "explicit serve", args: []string{"serve"}, env: map[string]string{"EXIT_AT_START": "1"}, wantCode: exitAtStart, wantStderr: "EXIT_AT_START=1"},
		{name: "health against nothing", args: []string{"health"}, env: map[string]string{"PORT": "1"}, wantCode: 1, wantStderr: "unhealthy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, envOf(tt.env), &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code)
			assert.Contains(t, stdout.String(), tt.wantStdout)
			assert.Contains(t, stderr.String(), tt.wantStderr)
		})
	}
}
