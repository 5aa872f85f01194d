package timeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNiceStep(t *testing.T) {
	tests := []struct {
		span  float64
		ticks int
		want  float64
	}{
		{span: 10, ticks: 10, want: 1},
		{span: 4, ticks: 14, want: 0.5},
		{span: 33, ticks: 14, want: 5},
		{span: 180, ticks: 5, want: 50},
		{span: 0, ticks: 5, want: 1},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, niceStep(tt.span, tt.ticks), 1e-9, "span %v", tt.span)
	}
}

func TestTicks(t *testing.T) {
	assert.Equal(t, []float64{0, 0.5, 1, 1.5}, ticks(1.5, 0.5))
	assert.Equal(t, []float64{0, 2, 4}, ticks(5, 2))
	assert.Nil(t, ticks(5, 0))
}

func TestNiceCeil(t *testing.T) {
	top, step := niceCeil(17, 5)
	assert.Equal(t, 20.0, top)
	assert.Equal(t, 5.0, step)
	top, step = niceCeil(0, 5)
	assert.Equal(t, 1.0, top)
	assert.Equal(t, 1.0, step)
	top, _ = niceCeil(3, 5)
	assert.Equal(t, 3.0, top)
}

func TestFormatNumber(t *testing.T) {
	assert.Equal(t, "0.5", formatNumber(0.5))
	assert.Equal(t, "2", formatNumber(2))
}

func TestFormatTick(t *testing.T) {
	assert.Equal(t, "0.6", formatTick(0.6000000000000001, 0.2))
	assert.Equal(t, "1.2", formatTick(1.2000000000000002, 0.2))
	assert.Equal(t, "0.05", formatTick(0.05, 0.05))
	assert.Equal(t, "10", formatTick(10, 5))
	assert.Equal(t, "1.0", formatTick(1, 0.5), "every label of an axis has the same decimals")
}
