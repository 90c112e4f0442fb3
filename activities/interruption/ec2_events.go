package interruption

import (
	"encoding/json"
	"strings"
)

type instanceDetail struct {
	InstanceID string `json:"instance-id"`
	State      string `json:"state"` // state-change messages only
}

// readInstanceDetail reads the detail of EC2's own events, which all name one instance.
func readInstanceDetail(raw json.RawMessage, m *Message) (instanceDetail, error) {
	var d instanceDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, &MalformedError{Reason: m.DetailType + " detail", Err: err}
	}
	if d.InstanceID == "" {
		return d, malformed("%s names no instance-id", m.DetailType)
	}
	m.InstanceIDs = []string{d.InstanceID}
	return d, nil
}

func parseSpotInterruption(raw json.RawMessage, m *Message) error {
	if _, err := readInstanceDetail(raw, m); err != nil {
		return err
	}
	m.Kind = SpotInterruption
	m.Deadline = m.EventTime.Add(SpotNotice)
	return nil
}

func parseRebalanceRecommendation(raw json.RawMessage, m *Message) error {
	if _, err := readInstanceDetail(raw, m); err != nil {
		return err
	}
	m.Kind = RebalanceRecommendation
	return nil
}

// parseStateChange acts on the states that mean the instance is going away; pending and running
// are NoOp.
func parseStateChange(raw json.RawMessage, m *Message) error {
	d, err := readInstanceDetail(raw, m)
	if err != nil {
		return err
	}
	if d.State == "" {
		return malformed("%s for %s has no state", m.DetailType, d.InstanceID)
	}
	m.State = strings.ToLower(d.State)
	switch m.State {
	case "stopping", "stopped", "shutting-down", "terminated":
		m.Kind = StateChange
	default:
		m.Kind = NoOp
	}
	return nil
}
