package ec2sim

import (
	"math"
	"testing"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Over the region's real offerings, the fraction short of capacity is the one asked for, and
// another seed picks other offerings.
func TestChaosInsufficientCapacityHitsTheConfiguredFractionOfOfferings(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	shortWith := func(seed uint64, fraction float64) map[capacityKey]bool {
		s := New(Options{Types: types})
		defer s.Close()
		if err := s.SetChaos(Chaos{Seed: seed, InsufficientCapacity: fraction}); err != nil {
			t.Fatal(err)
		}
		short := map[capacityKey]bool{}
		for _, name := range s.typeNames {
			for _, zone := range s.zones {
				if s.shortOfCapacity(name, zone) {
					short[capacityKey{instanceType: name, zone: zone}] = true
				}
			}
		}
		return short
	}
	offerings := float64(len(types) * 3)
	for _, fraction := range []float64{0.1, 0.5, 0.9} {
		if got := float64(len(shortWith(1, fraction))) / offerings; math.Abs(got-fraction) > 0.05 {
			t.Errorf("%.3f of %v offerings short of capacity, want about %.2f", got, offerings, fraction)
		}
	}
	a, b := shortWith(1, 0.5), shortWith(2, 0.5)
	same := 0
	for k := range a {
		if b[k] {
			same++
		}
	}
	if same == len(a) {
		t.Errorf("seeds 1 and 2 left the same %d offerings short of capacity", same)
	}
}
