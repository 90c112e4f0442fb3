package interruption

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

type healthDetail struct {
	Service           string `json:"service"`
	EventTypeCategory string `json:"eventTypeCategory"`
	StartTime         string `json:"startTime"`
	AffectedEntities  []struct {
		EntityValue string `json:"entityValue"`
	} `json:"affectedEntities"`
}

// parseHealthEvent acts on EC2 scheduled changes only; Health events about other services or of
// other categories (issue, accountNotification) are NoOp, as are changes naming no instance.
func parseHealthEvent(raw json.RawMessage, m *Message) error {
	var d healthDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		return &MalformedError{Reason: "AWS Health detail", Err: err}
	}
	m.Kind = NoOp
	if d.Service != "EC2" || d.EventTypeCategory != "scheduledChange" {
		return nil
	}
	for _, entity := range d.AffectedEntities {
		// EC2 Health events can also name hosts or volumes; only instances are nodes.
		if strings.HasPrefix(entity.EntityValue, "i-") && !slices.Contains(m.InstanceIDs, entity.EntityValue) {
			m.InstanceIDs = append(m.InstanceIDs, entity.EntityValue)
		}
	}
	if len(m.InstanceIDs) > 0 {
		m.Kind = ScheduledChange
		m.Deadline = healthTime(d.StartTime)
	}
	return nil
}

// healthTime reads Health's RFC 1123 times ("Sat, 05 Jun 2016 15:10:09 GMT"), or RFC 3339 ones.
// The start is informative, so a time it cannot read is left zero rather than failing the message.
func healthTime(s string) time.Time {
	for _, layout := range []string{time.RFC1123, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
