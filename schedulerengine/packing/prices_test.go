package packing

import (
	"math"
	"testing"
)

func TestNodesNeededCountsTheBindingResource(t *testing.T) {
	tests := []struct {
		name          string
		demand, alloc []int64
		want          float64
	}{
		{name: "cpu binds", demand: []int64{3000, 1000, 3}, alloc: []int64{2000, 8000, 110}, want: 1.5},
		{name: "pod slots bind", demand: []int64{100, 100, 20}, alloc: []int64{2000, 8000, 10}, want: 2},
		{name: "nothing asked", demand: []int64{0, 0, 0}, alloc: []int64{2000, 8000, 10}, want: 0},
		{name: "a resource the bin lacks", demand: []int64{1, 0, 0}, alloc: []int64{0, 8000, 10}, want: math.Inf(1)},
		{name: "other resources are not counted", demand: []int64{1000, 0, 0, 5}, alloc: []int64{2000, 8000, 10, 1}, want: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NodesNeeded(tt.demand, tt.alloc); got != tt.want {
				t.Errorf("NodesNeeded(%v, %v) = %v, want %v", tt.demand, tt.alloc, got, tt.want)
			}
		})
	}
}

func TestWasteIsThePriceOfTheUnusedHalves(t *testing.T) {
	tests := []struct {
		name        string
		alloc, held []int64
		want        float64
	}{
		{name: "empty", alloc: []int64{2000, 8000, 10}, held: []int64{0, 0, 0}, want: 1},
		{name: "full", alloc: []int64{2000, 8000, 10}, held: []int64{2000, 8000, 2}, want: 0},
		{name: "cpu full, memory empty", alloc: []int64{2000, 8000, 10}, held: []int64{2000, 0, 1}, want: 0.5},
		{name: "pod slots are not counted", alloc: []int64{2000, 8000, 10}, held: []int64{1000, 4000, 10}, want: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Waste(1, tt.alloc, tt.held); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Waste(1, %v, %v) = %v, want %v", tt.alloc, tt.held, got, tt.want)
			}
		})
	}
}

func TestUnitPricesBoundByTheCheapestPerUnit(t *testing.T) {
	u := NewUnitPrices(3)
	if got := u.Bound([]int64{1000, 1000, 1}); got != 0 {
		t.Fatalf("with nothing offered the bound is %v, want 0", got)
	}
	u.Offer(2, []int64{2000, 4000, 10})  // 0.001 per milli-cpu, 0.0005 per memory unit
	u.Offer(3, []int64{2000, 16000, 10}) // memory cheaper here: 0.0001875
	tests := []struct {
		total []int64
		want  float64
	}{
		{total: []int64{4000, 1000, 1}, want: 4}, // cpu binds: 4000 × 0.001
		{total: []int64{100, 32000, 1}, want: 6}, // memory binds at the cheaper rate: 32000 × 0.0001875
		{total: []int64{0, 0, 40}, want: 8},      // pod slots: 40 × min(2/10, 3/10)
		{total: []int64{0, 0, 0}, want: 0},       // nothing to cover
	}
	for _, tt := range tests {
		if got := u.Bound(tt.total); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Bound(%v) = %v, want %v", tt.total, got, tt.want)
		}
	}
}
