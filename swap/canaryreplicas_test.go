package swap

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanaryReplicas(t *testing.T) {
	w := replicaWorld(t, 3)
	two, step := 2, time.Millisecond
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Canary: strp("50%"), Step: &step, CanaryReplicas: &two}})
	require.NoError(t, err)
	require.Len(t, res.Canary, 1)
	assert.Equal(t, []string{"shop-web-4", "shop-web-5", "shop-web-6"}, res.New)
	assert.Equal(t, []string{"create shop-web-4 myapp:v2", "create shop-web-5 myapp:v2", "start id-shop-web-4", "start id-shop-web-5",
		"route shop_web http://shop-web-4:8080,http://shop-web-5:8080,http://shop-web-1:8080,http://shop-web-2:8080,http://shop-web-3:8080"}, w.log[:5],
		"the canary child runs two new containers, the stable one the three old")
	assert.Contains(t, w.routes["shop_web"], "shop-web-6", "after the canary the rest rolled")
	assert.Equal(t, []string{"shop-web-4=myapp:v2", "shop-web-5=myapp:v2", "shop-web-6=myapp:v2"}, w.running())
}

func TestPromoteRollsTheRestOfTheReplicas(t *testing.T) {
	w := replicaWorld(t, 3)
	step, pause := time.Millisecond, true
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Canary: strp("10%"), Step: &step, Pause: &pause}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Paused)
	assert.Equal(t, []string{"shop-web-1=myapp:v1", "shop-web-2=myapp:v1", "shop-web-3=myapp:v1", "shop-web-4=myapp:v2"}, w.running(), "one canary container by default")

	w.log = nil
	res, err = w.swapper().Promote(context.Background(), "shop/web", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-web-4=myapp:v2", "shop-web-5=myapp:v2", "shop-web-6=myapp:v2"}, w.running(), "the rest rolled: three replicas of v2")
	assert.Equal(t, []string{"shop-web-4", "shop-web-5", "shop-web-6"}, res.New)
	assert.Equal(t, []string{
		"route shop_web http://shop-web-2:8080,http://shop-web-3:8080,http://shop-web-4:8080",
		"confirm [http://shop-web-2:8080 http://shop-web-3:8080 http://shop-web-4:8080] err=<nil>",
		"stop id-shop-web-1 5s", "remove id-shop-web-1",
		"create shop-web-5 myapp:v2", "start id-shop-web-5",
		"route shop_web http://shop-web-3:8080,http://shop-web-4:8080,http://shop-web-5:8080",
	}, w.log[:7], "the canary takes an old container's place, then batches of one, three routed throughout")
}

func TestCanaryRecordsItsWeights(t *testing.T) {
	w := replicaWorld(t, 3)
	step := time.Millisecond
	res, err := w.swapper().Up(context.Background(), Request{Image: "myapp:v2", Service: "shop/web", Overrides: Overrides{Canary: strp("10%,50%"), Step: &step}})
	require.NoError(t, err)
	var got []int
	for _, wc := range res.Weights {
		got = append(got, wc.Percent)
	}
	assert.Equal(t, []int{10, 50, 33}, got, "each step, then the canary's container as one of three in the plain route")
}
