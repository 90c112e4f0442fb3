package ec2sim

import (
	"fmt"
	"time"

	"github.com/nodewright/nodewright/lab/ec2sim/ec2events"
)

// SpotNotice is how long AWS waits between the interruption warning and reclaiming the instance.
const SpotNotice = 2 * time.Minute

// spotInterruptions tracks injected interruptions; its zero value is ready to use.
type spotInterruptions struct {
	// pending maps an instance to the stop function of its termination timer; nil while the
	// warning is still being published.
	pending   map[string]func() bool
	reclaimed map[string]bool // terminated by EC2 at the end of the notice
}

func (p *spotInterruptions) stopAll() {
	for id, stop := range p.pending {
		if stop != nil {
			stop()
		}
		delete(p.pending, id)
	}
}

// InterruptSpot reclaims a running spot instance as EC2 does. It publishes the EventBridge
// "EC2 Spot Instance Interruption Warning" through publish (in the lab, an SQS queue's Send) and
// terminates the instance once notice has passed: SpotNotice in AWS, scaled down by the lab.
// The termination goes through Options.AfterFunc and Watch reports it as InstanceTerminated. If
// publish fails nothing else happens. An instance can be interrupted only once.
func (s *Sim) InterruptSpot(instanceID string, notice time.Duration, publish func(body string) error) error {
	body, err := s.claimInterruption(instanceID)
	if err != nil {
		return err
	}
	if err := publish(body); err != nil {
		s.mu.Lock()
		delete(s.spot.pending, instanceID)
		s.mu.Unlock()
		return fmt.Errorf("publish the spot interruption warning for %s: %w", instanceID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil // like boots, interruptions stop with the Sim
	}
	s.spot.pending[instanceID] = s.afterFunc(notice, func() { s.reclaim(instanceID) })
	return nil
}

// Reclaimed reports whether EC2 terminated the instance at the end of a spot interruption
// notice, rather than TerminateInstances before it.
func (s *Sim) Reclaimed(instanceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spot.reclaimed[instanceID]
}

// claimInterruption checks the instance can be interrupted, marks it so a second call fails, and
// builds the warning.
func (s *Sim) claimInterruption(instanceID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[instanceID]
	switch {
	case !ok:
		return "", fmt.Errorf("interrupt %s: no such instance", instanceID)
	case r.CapacityType != CapacitySpot:
		return "", fmt.Errorf("interrupt %s: it is %s, and only spot instances are interrupted", instanceID, r.CapacityType)
	case r.State != StateRunning:
		return "", fmt.Errorf("interrupt %s: it is %s, not running", instanceID, r.State)
	}
	if _, already := s.spot.pending[instanceID]; already {
		return "", fmt.Errorf("interrupt %s: it already has an interruption notice", instanceID)
	}
	if s.spot.pending == nil {
		s.spot.pending = map[string]func() bool{}
	}
	s.spot.pending[instanceID] = nil
	return ec2events.SpotInterruption(s.eventHeader(), instanceID, r.Zone), nil
}

func (s *Sim) reclaim(instanceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.spot.pending, instanceID)
	r, ok := s.records[instanceID]
	if s.closed || !ok || r.State == StateTerminated || r.State == StateShuttingDown {
		return
	}
	if s.spot.reclaimed == nil {
		s.spot.reclaimed = map[string]bool{}
	}
	s.spot.reclaimed[instanceID] = true
	s.terminate(r)
}

// eventHeader stamps an event from this region now. It must be called with s.mu held.
func (s *Sim) eventHeader() ec2events.Header {
	return ec2events.Header{ID: s.ids.UUID(), Account: ownerID, Region: s.region(), Time: s.clock()}
}

// region is the zones' region.
func (s *Sim) region() string { return regionOf(s.zones[0]) }
