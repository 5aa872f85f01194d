package swap

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/engine"
)

func TestSplitMembers(t *testing.T) {
	// Each container is "name:routing", oldest first; routed and leftover
	// list names.
	tests := []struct {
		name            string
		running         []string
		routed          []string
		leftover        []string
		wantJoined      []string
		wantConflicting []string
		wantSource      string
		wantErr         string
	}{
		{name: "one routed container", running: []string{"web:A"}, routed: []string{"web"}, wantJoined: []string{"web"}, wantSource: "web"},
		{name: "a stranger claiming the service is not routed", running: []string{"web:A", "evil:B"}, routed: []string{"web"},
			wantJoined: []string{"web"}, wantConflicting: []string{"evil"}, wantSource: "web"},
		{name: "a replica with the same routing joins", running: []string{"web-1:A", "web-2:A"}, routed: []string{"web-1"},
			wantJoined: []string{"web-1", "web-2"}, wantSource: "web-1"},
		{name: "mid rolling swap: old and new are routed and differ; the newest routed gives the routing", running: []string{"old:A", "new:B"}, routed: []string{"old", "new"},
			wantJoined: []string{"old", "new"}, wantSource: "new"},
		{name: "a paused rollout keeps its old replica; a stranger with the old routing joins as a replica of it", running: []string{"old:A", "new:B", "evil:A"}, routed: []string{"old", "new"},
			wantJoined: []string{"old", "new"}, wantConflicting: []string{"evil"}, wantSource: "new"},
		{name: "the new container of an interrupted swap is kept for the repair", running: []string{"web:A", "web-2:B"}, routed: []string{"web"}, leftover: []string{"web-2"},
			wantJoined: []string{"web", "web-2"}, wantSource: "web"},
		{name: "not adopted yet, all agree", running: []string{"a:A", "b:A"}, wantJoined: []string{"a", "b"}, wantSource: "b"},
		{name: "not adopted yet, they disagree", running: []string{"a:A", "b:B"}, wantErr: "a differ from b"},
		{name: "nothing runs", running: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var running []*engine.Container
			routing := map[*engine.Container]string{}
			for _, spec := range tt.running {
				name, r, _ := cut(spec)
				c := ctr(name, "x")
				routing[c] = r
				running = append(running, c)
			}
			in := func(names []string) func(*engine.Container) bool {
				return func(c *engine.Container) bool { return slices.Contains(names, c.Name) }
			}
			m, err := splitMembers(running, in(tt.routed), in(tt.leftover), func(c *engine.Container) string { return routing[c] })
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrBadInput)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantJoined, names(m.joined))
			assert.Equal(t, tt.wantConflicting, names(m.conflicting))
			if tt.wantSource == "" {
				assert.Nil(t, m.source)
			} else {
				assert.Equal(t, tt.wantSource, m.source.Name)
			}
		})
	}
}

func cut(spec string) (string, string, bool) {
	for i := len(spec) - 1; i >= 0; i-- {
		if spec[i] == ':' {
			return spec[:i], spec[i+1:], true
		}
	}
	return spec, "", false
}
