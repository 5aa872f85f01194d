package swap

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dswap-dev/dswap/engine"
)

func TestNamerPlainContainers(t *testing.T) {
	old := ctr("web", "myapp:v1")
	svc := &Service{Name: "myapp", Running: []*engine.Container{old}}
	n := newNamer([]*engine.Container{old}, svc)
	name, lbls := n.next(svc, old, map[string]string{"a": "b"})
	assert.Equal(t, "web-2", name)
	assert.Equal(t, "web", lbls["dswap.name"])
	assert.Equal(t, "b", lbls["a"])

	// The next swap, from web-2, goes back to the free base name.
	old2 := ctr("web-2", "myapp:v2", withLabel("dswap.name", "web"))
	svc2 := &Service{Name: "myapp", Running: []*engine.Container{old2}}
	name, _ = newNamer([]*engine.Container{old2}, svc2).next(svc2, old2, nil)
	assert.Equal(t, "web", name)
}

func TestNamerCompose(t *testing.T) {
	a := ctr("shop-web-1", "shop:v1", inCompose("shop", "web", "1"))
	b := ctr("shop-web-2", "shop:v1", inCompose("shop", "web", "2"))
	v1style := ctr("legacy_web_1", "legacy:v1", inCompose("legacy", "web", "1"))
	svc := &Service{Name: "web", Running: []*engine.Container{a, b}}
	n := newNamer([]*engine.Container{a, b}, svc)
	name1, l1 := n.next(svc, a, a.Labels)
	name2, l2 := n.next(svc, b, b.Labels)
	assert.Equal(t, "shop-web-3", name1)
	assert.Equal(t, "3", l1["com.docker.compose.container-number"])
	assert.Equal(t, "shop-web-4", name2)
	assert.Equal(t, "4", l2["com.docker.compose.container-number"])

	legacy := &Service{Name: "web", Running: []*engine.Container{v1style}}
	name, _ := newNamer([]*engine.Container{v1style}, legacy).next(legacy, v1style, v1style.Labels)
	assert.Equal(t, "legacy_web_2", name, "compose v1 names keep their underscores")
}

func TestNamerFirstContainerOfAService(t *testing.T) {
	svc := &Service{Name: "fresh"}
	name, lbls := newNamer(nil, svc).next(svc, nil, nil)
	assert.Equal(t, "fresh", name)
	assert.Equal(t, "fresh", lbls["dswap.name"])
}
