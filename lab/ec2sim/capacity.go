package ec2sim

// capacityKey names one capacity pool: a type in a zone bought one way.
type capacityKey struct{ instanceType, zone, capacityType string }

// SetCapacity limits how many more instances the pool can launch; n < 0 makes it unlimited again
// (the default). An empty zone or capacityType means every zone or both capacity types.
// Terminating an instance does not give its capacity back.
func (s *Sim) SetCapacity(instanceType, zone, capacityType string, n int) {
	zones := []string{zone}
	if zone == "" {
		zones = s.zones
	}
	capacityTypes := []string{capacityType}
	if capacityType == "" {
		capacityTypes = []string{CapacitySpot, CapacityOnDemand}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range zones {
		for _, ct := range capacityTypes {
			key := capacityKey{instanceType, z, ct}
			if n < 0 {
				delete(s.capacity, key)
			} else {
				s.capacity[key] = n
			}
		}
	}
}

// hasCapacity and takeCapacity must be called with s.mu held.
func (s *Sim) hasCapacity(key capacityKey) bool {
	if s.shortOfCapacity(key.instanceType, key.zone) {
		return false
	}
	left, limited := s.capacity[key]
	return !limited || left > 0
}

func (s *Sim) takeCapacity(key capacityKey) {
	if left, limited := s.capacity[key]; limited {
		s.capacity[key] = left - 1
	}
}
