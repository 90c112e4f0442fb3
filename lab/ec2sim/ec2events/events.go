package ec2events

import (
	"encoding/json"
	"strings"
	"time"
)

// EventBridge sources and detail types of the events built here, spelled as AWS sends them.
const (
	SourceEC2                         = "aws.ec2"
	SourceHealth                      = "aws.health"
	DetailTypeSpotInterruption        = "EC2 Spot Instance Interruption Warning"
	DetailTypeRebalanceRecommendation = "EC2 Instance Rebalance Recommendation"
	DetailTypeStateChange             = "EC2 Instance State-change Notification"
	DetailTypeHealthEvent             = "AWS Health Event"
)

// Header is what every EventBridge event carries besides its detail.
type Header struct {
	ID      string // a UUID
	Account string
	Region  string
	Time    time.Time // sent to the second, in UTC, as EventBridge does
}

type eventEnvelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

func (h Header) event(source, detailType string, resources []string, detail any) string {
	body, err := json.Marshal(eventEnvelope{
		Version:    "0",
		ID:         h.ID,
		DetailType: detailType,
		Source:     source,
		Account:    h.Account,
		Time:       h.Time.UTC().Format("2006-01-02T15:04:05Z"),
		Region:     h.Region,
		Resources:  resources,
		Detail:     detail,
	})
	if err != nil { // strings, slices and the detail structs below always marshal
		panic("ec2events: marshal EventBridge event: " + err.Error())
	}
	return string(body)
}

func (h Header) instanceARN(instanceID string) string {
	return "arn:aws:ec2:" + h.Region + ":" + h.Account + ":instance/" + instanceID
}

// SpotInterruption is the two-minute warning before EC2 reclaims a spot instance. Its
// resource ARN names the availability zone and no account, exactly as AWS sends it.
func SpotInterruption(h Header, instanceID, zone string) string {
	return h.event(SourceEC2, DetailTypeSpotInterruption, []string{"arn:aws:ec2:" + zone + ":instance/" + instanceID}, struct {
		InstanceID     string `json:"instance-id"`
		InstanceAction string `json:"instance-action"`
	}{instanceID, "terminate"})
}

// RebalanceRecommendation says a spot instance is at elevated risk of interruption.
func RebalanceRecommendation(h Header, instanceID string) string {
	return h.event(SourceEC2, DetailTypeRebalanceRecommendation, []string{h.instanceARN(instanceID)}, struct {
		InstanceID string `json:"instance-id"`
	}{instanceID})
}

// StateChange reports an instance entering state (pending, running, stopping, stopped,
// shutting-down or terminated).
func StateChange(h Header, instanceID, state string) string {
	return h.event(SourceEC2, DetailTypeStateChange, []string{h.instanceARN(instanceID)}, struct {
		InstanceID string `json:"instance-id"`
		State      string `json:"state"`
	}{instanceID, state})
}

// HealthChange describes an AWS Health event for EC2.
type HealthChange struct {
	Category      string // scheduledChange, issue or accountNotification; default scheduledChange
	EventTypeCode string // default AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED
	Start, End    time.Time
	InstanceIDs   []string
}

type healthDetail struct {
	EventARN          string              `json:"eventArn"`
	Service           string              `json:"service"`
	EventTypeCode     string              `json:"eventTypeCode"`
	EventTypeCategory string              `json:"eventTypeCategory"`
	EventScopeCode    string              `json:"eventScopeCode"`
	StatusCode        string              `json:"statusCode"`
	StartTime         string              `json:"startTime"`
	EndTime           string              `json:"endTime,omitempty"`
	EventDescription  []healthDescription `json:"eventDescription"`
	AffectedEntities  []healthEntity      `json:"affectedEntities"`
}

type healthDescription struct {
	Language          string `json:"language"`
	LatestDescription string `json:"latestDescription"`
}

type healthEntity struct {
	EntityValue string `json:"entityValue"`
}

// healthTime is AWS Health's RFC 1123 spelling, e.g. "Sat, 05 Jun 2016 15:10:09 GMT".
const healthTime = "Mon, 02 Jan 2006 15:04:05 GMT"

// ScheduledChange is an AWS Health event about EC2 instances, by default the scheduled
// retirement Karpenter drains for. Its resources are the bare instance ids, as Health sends them.
func ScheduledChange(h Header, c HealthChange) string {
	if c.Category == "" {
		c.Category = "scheduledChange"
	}
	if c.EventTypeCode == "" {
		c.EventTypeCode = "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"
	}
	detail := healthDetail{
		EventARN:          "arn:aws:health:" + h.Region + "::event/EC2/" + c.EventTypeCode + "/" + c.EventTypeCode + "_" + strings.ReplaceAll(h.ID, "-", ""),
		Service:           "EC2",
		EventTypeCode:     c.EventTypeCode,
		EventTypeCategory: c.Category,
		EventScopeCode:    "ACCOUNT_SPECIFIC",
		StatusCode:        "upcoming",
		StartTime:         c.Start.UTC().Format(healthTime),
		EventDescription: []healthDescription{{
			Language:          "en_US",
			LatestDescription: "EC2 has detected degradation of the underlying hardware hosting your instances. They will be retired after the start time.",
		}},
		AffectedEntities: []healthEntity{},
	}
	if !c.End.IsZero() {
		detail.EndTime = c.End.UTC().Format(healthTime)
	}
	for _, id := range c.InstanceIDs {
		detail.AffectedEntities = append(detail.AffectedEntities, healthEntity{EntityValue: id})
	}
	return h.event(SourceHealth, DetailTypeHealthEvent, append([]string{}, c.InstanceIDs...), detail)
}
