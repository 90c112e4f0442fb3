package schedulerengine

import "math"

// prices returns every type's cheapest price under an offering filter (+Inf where none is
// allowed), computed once per filter: sizing and repacking ask for the same few filters
// thousands of times.
func (s *solver) prices(f offeringFilter) []float64 {
	key := f.key()
	if table, ok := s.priceTables[key]; ok {
		return table
	}
	table := make([]float64, len(s.world.types))
	for i := range s.world.types {
		price, ok := s.world.types[i].cheapest(f)
		if !ok {
			price = math.Inf(1)
		}
		table[i] = price
	}
	s.priceTables[key] = table
	return table
}

func (f offeringFilter) key() string {
	key := "-"
	if f.hasZone {
		key = f.zone.String()
	}
	if f.hasCapacityType {
		return key + "\x00" + f.capacityType.String()
	}
	return key + "\x00-"
}
