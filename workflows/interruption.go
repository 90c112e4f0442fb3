package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/interruption"
)

// InterruptionID is the workflow id of the singleton interruption controller.
const InterruptionID = "interruption"

// InterruptionInput names the queue and carries counters across continue-as-new.
type InterruptionInput struct {
	Queue string            `json:"queue"`
	State InterruptionState `json:"state"`
}

// InterruptionState counts what the controller has seen; its state query returns it.
type InterruptionState struct {
	Received int `json:"received"`
	// Signalled counts interrupt signals accepted by node workflows.
	Signalled int `json:"signalled"`
	// Recorded are rebalance recommendations and other events that need no action.
	Recorded    int `json:"recorded"`
	Malformed   int `json:"malformed"`
	Unsupported int `json:"unsupported"`
	// NotOurs counts instance ids no node workflow owns.
	NotOurs   int    `json:"notOurs"`
	LastError string `json:"lastError,omitempty"`
}

const (
	maxPollsPerRun = 500
	pollRetryDelay = 10 * time.Second
	// maxMessagesInFlight bounds the messages handled at once: enough that 500 arriving
	// together are all acted on well inside their two minutes.
	maxMessagesInFlight = 100
)

// changeConcurrentInterruptions versions handling messages side by side while the queue is
// polled again; histories from before it replay one message at a time.
const changeConcurrentInterruptions = "concurrent-interruptions"

var (
	sqsActs   *activities.Interruptions
	nodesActs *activities.Nodes
)

// InterruptionWorkflow long-polls the interruption queue and turns EC2's warnings into
// interrupt signals to node workflows, found by their InstanceID search attribute. A spot
// interruption also tells the provisioner to avoid that offering for a while. Every message
// is deleted once handled, including those it cannot use, which are counted; one whose node
// could not be looked up or signalled is left to come back after its visibility timeout.
func InterruptionWorkflow(ctx workflow.Context, in InterruptionInput) error {
	if in.Queue == "" {
		return fmt.Errorf("interruption workflow needs a queue name")
	}
	state := in.State
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState,
		func() (InterruptionState, error) { return state, nil },
		workflow.QueryHandlerOptions{Description: "Counts of interruption messages by outcome"}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	concurrent := workflow.GetVersion(ctx, changeConcurrentInterruptions, workflow.DefaultVersion, 1) >= 1
	inFlight := 0
	for polls := 0; ; polls++ {
		if polls >= maxPollsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return inFlight == 0 }); err != nil {
				return err
			}
			return workflow.NewContinueAsNewError(ctx, InterruptionWorkflow, InterruptionInput{Queue: in.Queue, State: state})
		}
		if concurrent {
			if err := workflow.Await(ctx, func() bool { return inFlight < maxMessagesInFlight }); err != nil {
				return err
			}
		}
		var msgs []activities.InterruptionMessage
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, receiveOptions()), sqsActs.ReceiveInterruptions, in.Queue).Get(ctx, &msgs)
		// The counts shown are those settled so far; messages still in flight show next poll.
		workflow.SetCurrentDetails(ctx, interruptionDetails(state, workflow.Now(ctx), len(msgs)))
		if err != nil {
			state.LastError = err.Error()
			if err := workflow.Sleep(ctx, pollRetryDelay); err != nil {
				return err
			}
			continue
		}
		for _, m := range msgs {
			state.Received++
			if !concurrent {
				settleInterruption(ctx, &state, in.Queue, m)
				continue
			}
			inFlight++
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer func() { inFlight-- }()
				settleInterruption(ctx, &state, in.Queue, m)
			})
		}
	}
}

// settleInterruption acts on one message and deletes it from the queue once handled.
func settleInterruption(ctx workflow.Context, state *InterruptionState, queue string, m activities.InterruptionMessage) {
	if !handleInterruption(ctx, state, m) {
		return
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, kubeOptions()), sqsActs.DeleteInterruption, queue, m.ReceiptHandle).Get(ctx, nil); err != nil {
		state.LastError = fmt.Sprintf("delete message %s: %v", m.MessageID, err)
	}
}

// handleInterruption reports false when a lookup or signal failed, so the message must stay
// on the queue for another try (the issue: delete it once the signal is accepted).
func handleInterruption(ctx workflow.Context, state *InterruptionState, m activities.InterruptionMessage) bool {
	log := workflow.GetLogger(ctx)
	switch {
	case m.Error != "":
		if strings.HasPrefix(m.Error, "malformed") {
			state.Malformed++
		} else {
			state.Unsupported++
		}
		log.Warn("interruption message dropped", "message", m.MessageID, "error", m.Error)
		return true
	case m.Kind == string(interruption.RebalanceRecommendation) || m.Kind == string(interruption.NoOp):
		state.Recorded++
		log.Info("interruption message recorded", "message", m.MessageID, "kind", m.Kind, "instances", m.InstanceIDs)
		return true
	}
	settled := true
	for _, id := range m.InstanceIDs {
		var node activities.NodeWorkflow
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, kubeOptions()), nodesActs.FindNodeWorkflow, id).Get(ctx, &node); err != nil {
			state.LastError = err.Error()
			settled = false
			continue
		}
		if node.WorkflowID == "" {
			state.NotOurs++
			log.Info("interruption for an instance that is not ours", "instance", id, "kind", m.Kind)
			continue
		}
		msg := Interrupt{Kind: m.Kind, EventTime: m.EventTime, Deadline: m.Deadline, State: m.State}
		if err := workflow.SignalExternalWorkflow(ctx, node.WorkflowID, "", SignalInterrupt, msg).Get(ctx, nil); err != nil {
			state.LastError = fmt.Sprintf("signal %s: %v", node.WorkflowID, err)
			settled = false
			continue
		}
		state.Signalled++
		if m.Kind == string(interruption.SpotInterruption) && node.InstanceType != "" {
			off := OfferingUnavailable{Offering: activities.Offering{InstanceType: node.InstanceType, Zone: node.Zone, CapacityType: node.CapacityType}, Reason: "spot interruption of " + id}
			if err := workflow.SignalExternalWorkflow(ctx, ProvisionerID, "", SignalOfferingUnavailable, off).Get(ctx, nil); err != nil {
				log.Warn("tell the provisioner about an interrupted offering", "error", err)
			}
		}
	}
	return settled
}
