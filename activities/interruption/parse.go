package interruption

import (
	"encoding/json"
	"strings"
	"time"
)

// Sources and detail types this package reads, spelled as AWS sends them.
const (
	sourceEC2                         = "aws.ec2"
	sourceHealth                      = "aws.health"
	detailTypeSpotInterruption        = "EC2 Spot Instance Interruption Warning"
	detailTypeRebalanceRecommendation = "EC2 Instance Rebalance Recommendation"
	detailTypeStateChange             = "EC2 Instance State-change Notification"
	detailTypeHealthEvent             = "AWS Health Event"
)

// envelope is the part of an EventBridge event every kind shares; detail is read per kind.
type envelope struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// detailParser fills in what a kind's detail says.
type detailParser func(detail json.RawMessage, m *Message) error

// Parse reads one message body. A message of an unknown source or detail-type returns an
// *UnsupportedError, one that cannot be read a *MalformedError; either way the message is done
// with and can be deleted.
func Parse(body string) (Message, error) {
	if strings.TrimSpace(body) == "" {
		return Message{}, malformed("empty body")
	}
	var e envelope
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return Message{}, &MalformedError{Reason: "not an EventBridge event", Err: err}
	}
	if e.Source == "" || e.DetailType == "" {
		return Message{}, malformed("no source or detail-type")
	}
	parse, ok := parserFor(e.Source, e.DetailType)
	if !ok {
		return Message{}, &UnsupportedError{Source: e.Source, DetailType: e.DetailType}
	}
	eventTime, err := time.Parse(time.RFC3339, e.Time)
	if err != nil {
		return Message{}, &MalformedError{Reason: "event time", Err: err}
	}
	if !isObject(e.Detail) {
		return Message{}, malformed("%s has no detail object", e.DetailType)
	}
	m := Message{EventID: e.ID, Source: e.Source, DetailType: e.DetailType, EventTime: eventTime}
	if err := parse(e.Detail, &m); err != nil {
		return Message{}, err
	}
	return m, nil
}

func parserFor(source, detailType string) (detailParser, bool) {
	switch {
	case source == sourceEC2 && detailType == detailTypeSpotInterruption:
		return parseSpotInterruption, true
	case source == sourceEC2 && detailType == detailTypeRebalanceRecommendation:
		return parseRebalanceRecommendation, true
	case source == sourceEC2 && detailType == detailTypeStateChange:
		return parseStateChange, true
	case source == sourceHealth && detailType == detailTypeHealthEvent:
		return parseHealthEvent, true
	}
	return nil, false
}

func isObject(raw json.RawMessage) bool {
	trimmed := strings.TrimSpace(string(raw))
	return strings.HasPrefix(trimmed, "{")
}
