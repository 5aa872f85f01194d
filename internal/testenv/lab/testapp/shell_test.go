package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunShell(t *testing.T) {
	env := map[string]string{"VERSION": "v2", "STAGE": "prod"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		args       []string
		code       int
		out, errOf string
	}{
		{args: []string{"-c", "echo migrating $VERSION for ${STAGE}"}, out: "migrating v2 for prod\n"},
		{args: []string{"-c", "echo one && echo two"}, out: "one\ntwo\n"},
		{args: []string{"-c", "echo a && exit 3 && echo never"}, code: 3, out: "a\n"},
		{args: []string{"-c", "task exit 4 && echo never"}, code: 4, out: "task of v2 starting\n", errOf: "migration failed"},
		{args: []string{"-c", "php artisan migrate"}, code: 127, errOf: "php: not found"},
		{args: []string{"script.sh"}, code: exitBadConfig, errOf: "want -c SCRIPT"},
	} {
		var out, errOut bytes.Buffer
		code := runShell(tc.args, getenv, &out, &errOut)
		assert.Equal(t, tc.code, code, "%q", tc.args)
		assert.Equal(t, tc.out, out.String(), "%q", tc.args)
		assert.Contains(t, errOut.String(), tc.errOf, "%q", tc.args)
	}
}
