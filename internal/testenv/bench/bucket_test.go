package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

func TestBucketize(t *testing.T) {
	results := []loadgen.Result{
		req(-10, 40, "v1"),   // before the range
		req(0, 50, "v1"),     // bucket 0
		req(99, 150, "v1"),   // bucket 0
		req(100, 150, "v2"),  // bucket 1
		req(120, 170, ""),    // bucket 1, failed
		req(250, 6250, "v2"), // bucket 2, hung
		req(260, 30260, ""),  // bucket 2, failed wins over hung
		req(300, 350, "v2"),  // at the end: outside
	}
	got := Bucketize(results, ms(0), ms(300), 100*time.Millisecond, 5*time.Second)
	assert.Len(t, got, 3)
	assert.Equal(t, ms(0), got[0].Start)
	assert.Equal(t, map[string]int{"v1": 2}, got[0].ByVersion)
	assert.Equal(t, ms(100), got[1].Start)
	assert.Equal(t, map[string]int{"v2": 1}, got[1].ByVersion)
	assert.Equal(t, 1, got[1].Failed)
	assert.Equal(t, 1, got[2].Hung)
	assert.Equal(t, 1, got[2].Failed)
	assert.Empty(t, got[2].ByVersion)

	assert.Len(t, Bucketize(nil, ms(0), ms(250), 100*time.Millisecond, 0), 3, "a partial last bucket is kept, and empty buckets are present")
	assert.Nil(t, Bucketize(results, ms(10), ms(10), 100*time.Millisecond, 0))
}
