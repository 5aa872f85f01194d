package swap

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/traefik"
)

func strp(s string) *string { return &s }

func TestCanaryPolicyParsing(t *testing.T) {
	step, minReq := 20*time.Second, 50
	pol, err := canaryPolicyOf(settings.Overrides{Canary: strp("5%,50%"), Step: &step, MaxErrorRate: strp("1%"), MaxP99: strp("+50%"), MinRequests: &minReq})
	require.NoError(t, err)
	assert.Equal(t, []int{5, 50}, pol.Weights)
	assert.InDelta(t, 0.01, pol.MaxErrorRate, 1e-9)
	assert.InDelta(t, 1.5, pol.MaxP99Relative, 1e-9)
	assert.True(t, pol.Judged())

	pol, err = canaryPolicyOf(settings.Overrides{Canary: strp("10"), Step: &step, MaxP99: strp("500ms"), MinRequests: &minReq})
	require.NoError(t, err)
	assert.Equal(t, 500*time.Millisecond, pol.MaxP99)
	assert.False(t, pol.WarnTooFew, "a step short of requests fails by default")
	assert.Equal(t, 1, pol.Replicas, "one canary container by default")

	three := 3
	pol, err = canaryPolicyOf(settings.Overrides{Canary: strp("10"), Step: &step, MaxErrorRate: strp("1%"), MinRequests: &minReq, TooFewRequests: strp("warn"), CanaryReplicas: &three})
	require.NoError(t, err)
	assert.True(t, pol.WarnTooFew)
	assert.Equal(t, 3, pol.Replicas)

	for _, bad := range []settings.Overrides{
		{Canary: strp("50%,5%"), Step: &step},
		{Canary: strp("100%"), Step: &step},
		{Canary: strp("0"), Step: &step},
		{Canary: strp("five"), Step: &step},
		{Canary: strp("5%"), Step: &step, MaxErrorRate: strp("150%")},
		{Canary: strp("5%"), Step: &step, MaxP99: strp("+fast")},
		{Canary: strp("5%"), Step: &step, MaxP99: strp("+0.5")},
		{Canary: strp("5%")},
		{Canary: strp("5%"), Step: &step, CanaryReplicas: new(int)},
	} {
		_, err := canaryPolicyOf(bad)
		assert.ErrorIs(t, err, ErrBadInput, "%+v", bad)
	}
}

// stats builds a window with n requests, errs of them 5xx, all answered
// within the bucket whose bound is latency.
func stats(n, errs float64, latency float64) traefik.ServiceStats {
	bounds := []float64{0.1, 0.3, 1.2, 5, math.Inf(1)}
	st := traefik.ServiceStats{Requests: n, Errors: errs}
	for _, b := range bounds {
		c := 0.0
		if b >= latency {
			c = n
		}
		st.Buckets = append(st.Buckets, traefik.Bucket{UpperBound: b, Count: c})
	}
	return st
}

func TestCanaryJudge(t *testing.T) {
	pol := CanaryPolicy{Weights: []int{5}, Step: time.Minute, MaxErrorRate: 0.01, MaxP99Relative: 1.5, MinRequests: 50}
	cases := []struct {
		name           string
		canary, stable traefik.ServiceStats
		want           Verdict
		reason         string
	}{
		{"healthy canary", stats(500, 0, 0.1), stats(9500, 0, 0.1), VerdictPass, "error rate 0% (0 of 500)"},
		{"20% errors", stats(500, 98, 0.1), stats(9500, 0, 0.1), VerdictFail, "error rate 19.6% (98 of 500) > 1% at 5%"},
		{"too few requests", stats(10, 5, 0.1), stats(200, 0, 0.1), VerdictShort, "only 10 request(s)"},
		{"slow canary", stats(500, 0, 1.2), stats(9500, 0, 0.1), VerdictFail, "p99 "},
		{"slow both", stats(500, 0, 1.2), stats(9500, 0, 1.2), VerdictPass, "error rate 0%"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, reason := pol.judge(5, c.canary, c.stable)
			assert.Equal(t, c.want, v, reason)
			assert.Contains(t, reason, c.reason)
		})
	}
	abs := CanaryPolicy{MaxP99: 500 * time.Millisecond, MinRequests: 50}
	v, reason := abs.judge(50, stats(100, 0, 1.2), stats(100, 0, 0.1))
	assert.Equal(t, VerdictFail, v)
	assert.Contains(t, reason, "> 500ms at 50%")

	v, _ = pol.judge(5, stats(20, 12, 0.1), stats(600, 0, 0.1))
	assert.Equal(t, VerdictShort, v, "not judged before --min-requests")
}
