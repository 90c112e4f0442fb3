package ec2sim

type terminateInstancesResponse struct {
	XMLName   struct{}         `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ TerminateInstancesResponse"`
	RequestID string           `xml:"requestId"`
	Instances []stateChangeXML `xml:"instancesSet>item"`
}

type stateChangeXML struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  stateXML `xml:"currentState"`
	PreviousState stateXML `xml:"previousState"`
}

// terminateInstances is idempotent: terminating a terminated instance reports terminated twice.
// With a policy, every instance must be one the caller may terminate, or none is.
func (s *Sim) terminateInstances(p params, requestID string, c caller) (any, *apiError) {
	ids := p.strings("InstanceId")
	if len(ids) == 0 {
		return nil, missingParameter("InstanceId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkKnown(ids); err != nil {
		return nil, err
	}
	if err := s.authorize(c, s.terminateAccesses(ids)...); err != nil {
		return nil, err
	}
	resp := terminateInstancesResponse{RequestID: requestID}
	for _, id := range ids {
		r := s.records[id]
		previous := r.State
		if previous != StateTerminated {
			s.terminate(r)
		}
		resp.Instances = append(resp.Instances, stateChangeXML{
			InstanceID:    id,
			CurrentState:  stateXML{Code: stateCode(r.State), Name: r.State},
			PreviousState: stateXML{Code: stateCode(previous), Name: previous},
		})
	}
	return resp, nil
}
