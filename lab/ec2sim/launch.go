package ec2sim

import (
	"maps"
	"slices"
	"time"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// instanceSettings is what a launch takes from its launch template and override.
type instanceSettings struct {
	imageID          string
	userData         string // decoded
	securityGroupIDs []string
	instanceProfile  string
	templateID       string
	templateName     string
	templateVersion  string
	metadata         metadataOptions
	tags             map[string]string // the template's instance tags under the fleet's
	rootDeviceName   string
	volumes          []Volume
}

// launch creates one instance and starts its boot. It must be called with s.mu held.
func (s *Sim) launch(t catalog.Type, at placement, capacityType string, with instanceSettings, reservationID string, price float64) *record {
	seq := len(s.launched) + 1
	ip, dnsName := privateAddress(seq)
	r := &record{
		Instance: Instance{
			ID:             s.ids.instanceID(),
			Type:           t.Name,
			Zone:           at.zone,
			SubnetID:       at.subnetID,
			CapacityType:   capacityType,
			State:          StatePending,
			PrivateDNSName: dnsName,
			PrivateIP:      ip,
			// EC2 reports launch times to the millisecond; truncating keeps Instance and the SDK's view equal.
			LaunchTime:   s.clock().UTC().Truncate(time.Millisecond),
			Tags:         maps.Clone(with.tags),
			PricePerHour: price,

			ImageID:            with.imageID,
			UserData:           with.userData,
			SecurityGroupIDs:   slices.Clone(with.securityGroupIDs),
			InstanceProfile:    with.instanceProfile,
			LaunchTemplateID:   with.templateID,
			LaunchTemplateName: with.templateName,
			RootDeviceName:     with.rootDeviceName,
			Volumes:            slices.Clone(with.volumes),
		},
		seq:             seq,
		reservationID:   reservationID,
		templateVersion: with.templateVersion,
		metadata:        with.metadata,
	}
	if len(t.Architectures) > 0 {
		r.architecture = t.Architectures[0]
	}
	if capacityType == CapacitySpot {
		r.spotRequestID = s.ids.spotRequestID()
	}
	s.records[r.ID] = r
	s.launched = append(s.launched, r)
	s.startBoot(r)
	return r
}

// startBoot must be called with s.mu held; so the AfterFunc option must not run f before returning.
func (s *Sim) startBoot(r *record) {
	if s.bootDelay <= 0 {
		s.markRunning(r)
		return
	}
	if s.closed {
		return
	}
	id := r.ID
	s.bootStops[id] = s.afterFunc(s.bootDelay, func() { s.finishBoot(id) })
}

func (s *Sim) finishBoot(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bootStops, id)
	r, ok := s.records[id]
	if s.closed || !ok || r.State != StatePending {
		return
	}
	s.markRunning(r)
}

func (s *Sim) markRunning(r *record) {
	r.State = StateRunning
	s.emit(InstanceRunning, r)
}

// terminate must be called with s.mu held. Without a ShutdownDelay the instance is terminated
// by the time the call returns; with one it is shutting-down until the delay ends. Terminating
// an instance already shutting down changes nothing.
func (s *Sim) terminate(r *record) {
	if stop, booting := s.bootStops[r.ID]; booting {
		stop()
		delete(s.bootStops, r.ID)
	}
	if s.shutdown <= 0 {
		s.finishShutdown(r)
		return
	}
	if r.State == StateShuttingDown || r.State == StateTerminated {
		return
	}
	r.State = StateShuttingDown
	s.emit(InstanceShuttingDown, r)
	if s.closed {
		return
	}
	id := r.ID
	s.downStops[id] = s.afterFunc(s.shutdown, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.downStops, id)
		if rec, ok := s.records[id]; ok && !s.closed && rec.State == StateShuttingDown {
			s.finishShutdown(rec)
		}
	})
}

// finishShutdown must be called with s.mu held.
func (s *Sim) finishShutdown(r *record) {
	r.State = StateTerminated
	s.emit(InstanceTerminated, r)
}
