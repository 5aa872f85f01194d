package history

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendAndRead(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	got, err := s.Read("web")
	require.NoError(t, err)
	assert.Empty(t, got)

	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	require.NoError(t, s.Append("web", Entry{ID: "a", Service: "web", Started: start, Result: "swapped", ToImage: "myapp:v2", Duration: 2 * time.Second}))
	require.NoError(t, s.Append("web", Entry{ID: "b", Service: "web", Started: start.Add(time.Hour), Result: "failed", ToImage: "myapp:v3", Reason: "unhealthy"}))
	require.NoError(t, s.Append("shop/web", Entry{ID: "c", Result: "swapped"}))

	got, err = s.Read("web")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].ID)
	assert.Equal(t, 2*time.Second, got[0].Duration)
	assert.Equal(t, "unhealthy", got[1].Reason)

	other, err := s.Read("shop/web")
	require.NoError(t, err)
	assert.Len(t, other, 1)
}

func TestHistoryIsBounded(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for i := 0; i < maxEntries+5; i++ {
		require.NoError(t, s.Append("web", Entry{ID: string(rune('a' + i%26))}))
	}
	got, err := s.Read("web")
	require.NoError(t, err)
	assert.Len(t, got, maxEntries)
}
