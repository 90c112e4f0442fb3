package workflows

import "testing"

// Termination must never give up while the instance may still run: a workflow that failed
// out of its clean-up would leave the instance, its Node and its NodeClaim with no one to
// finish them. Its attempts wait on EC2, so they must heartbeat.
func TestTerminationRetriesUntilItSucceeds(t *testing.T) {
	o := terminateOptions()
	if o.ScheduleToCloseTimeout != 0 || o.RetryPolicy == nil || o.RetryPolicy.MaximumAttempts != 0 {
		t.Errorf("terminate options %+v, retry %+v: want no overall deadline and unlimited attempts", o, o.RetryPolicy)
	}
	if o.HeartbeatTimeout <= 0 || o.HeartbeatTimeout >= o.StartToCloseTimeout {
		t.Errorf("heartbeat timeout %s, start-to-close %s: want a heartbeat well inside each attempt", o.HeartbeatTimeout, o.StartToCloseTimeout)
	}
}
