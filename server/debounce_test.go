package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDebouncer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	d := newDebouncer(500*time.Millisecond, 2*time.Second)

	_, ok := d.next()
	assert.False(t, ok, "nothing pending")

	// A burst: start, health_status, die, start within 300 ms.
	for _, ms := range []int{0, 100, 200, 300} {
		d.add("web", at(ms))
	}
	d.add("api", at(250))
	next, ok := d.next()
	assert.True(t, ok)
	assert.Equal(t, at(750), next, "api is due 500 ms after its event")
	assert.Empty(t, d.due(at(749)))
	assert.Equal(t, []string{"api"}, d.due(at(750)))
	assert.Equal(t, []string{"web"}, d.due(at(800)), "web: 500 ms after its last event")
	assert.Empty(t, d.due(at(5000)), "each burst is handed out once")

	// Events that never pause are still handed out after maxWait.
	handedAt := -1
	for ms := 0; ms <= 3000; ms += 400 {
		d.add("noisy", at(10000+ms))
		if got := d.due(at(10000 + ms)); len(got) > 0 {
			assert.Equal(t, []string{"noisy"}, got)
			handedAt = ms
			break
		}
	}
	assert.Equal(t, 2000, handedAt, "due at its first event + maxWait")

	// A retry (lock held) is not due before its time, even if quiet.
	d.retry("locked", at(20000))
	assert.Empty(t, d.due(at(19999)))
	assert.Equal(t, []string{"locked"}, d.due(at(20000)))

	// A retry of a key with pending events pushes it back, never forward.
	d.add("both", at(30000))
	d.retry("both", at(32000))
	assert.Empty(t, d.due(at(30500)))
	assert.Equal(t, []string{"both"}, d.due(at(32000)))
}
