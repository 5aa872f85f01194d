package compose

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFromLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   Identity
		ok     bool
	}{
		{"compose container", map[string]string{ProjectLabel: "shop", ServiceLabel: "web", ContainerNumberLabel: "2"}, Identity{"shop", "web", 2}, true},
		{"not compose", map[string]string{"a": "b"}, Identity{}, false},
		{"one-off run", map[string]string{ProjectLabel: "shop", ServiceLabel: "web", OneoffLabel: "True"}, Identity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromLabels(tt.labels)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNameFollowsStyle(t *testing.T) {
	id := Identity{Project: "shop", Service: "web", Number: 3}
	assert.Equal(t, "shop-web-3", id.Name("shop-web-1"))
	assert.Equal(t, "shop_web_3", id.Name("shop_web_1"))
}

func TestNextNumber(t *testing.T) {
	assert.Equal(t, 1, NextNumber(nil))
	assert.Equal(t, 4, NextNumber([]int{1, 3, 2}))
}

func TestWithNumberDoesNotModifyInput(t *testing.T) {
	in := map[string]string{ContainerNumberLabel: "1", "x": "y"}
	out := WithNumber(in, 2)
	assert.Equal(t, "1", in[ContainerNumberLabel])
	assert.Equal(t, "2", out[ContainerNumberLabel])
	assert.Equal(t, "y", out["x"])
}
