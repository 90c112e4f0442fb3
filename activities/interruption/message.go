package interruption

import "time"

// Kind says what a message means for the nodes it names.
type Kind string

const (
	// SpotInterruption is EC2's two-minute warning before it reclaims a spot instance.
	SpotInterruption Kind = "SpotInterruption"
	// RebalanceRecommendation says a spot instance is at elevated risk; it is only recorded.
	RebalanceRecommendation Kind = "RebalanceRecommendation"
	// ScheduledChange is an AWS Health scheduled change (such as a retirement) for EC2 instances.
	ScheduledChange Kind = "ScheduledChange"
	// StateChange is an instance stopping, stopped, shutting down or terminated.
	StateChange Kind = "StateChange"
	// NoOp is a message understood and needing nothing, such as an instance entering running or a
	// Health event about another service. It can be deleted from the queue.
	NoOp Kind = "NoOp"
)

// SpotNotice is how long EC2 waits between the interruption warning and reclaiming the instance.
const SpotNotice = 2 * time.Minute

// Message is one parsed EventBridge event.
type Message struct {
	Kind        Kind
	EventID     string // EventBridge's id, for logs and de-duplication
	Source      string // aws.ec2 or aws.health
	DetailType  string
	InstanceIDs []string // in the order the event lists them, without repeats
	EventTime   time.Time
	// Deadline is when the instance goes: EventTime+SpotNotice for a spot interruption, the
	// change's start for a scheduled change that gives one, otherwise zero.
	Deadline time.Time
	State    string // the instance state of an EC2 state-change message, lower case
}
