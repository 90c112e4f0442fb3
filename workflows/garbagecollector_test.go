package workflows

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

func TestGarbageCollectorReclaimsWhatEachLookFinds(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(GarbageCollectorWorkflow)
	start := env.Now()

	var mu sync.Mutex
	var looks []time.Duration
	var collected []string
	var interrupts []Interrupt
	first := activities.Garbage{
		Instances: []activities.OrphanInstance{{ID: "i-1", WorkflowID: "node/a", Reason: activities.ReasonNoWorkflow}, {ID: "i-2", WorkflowID: "node/b", Reason: activities.ReasonNoWorkflow}},
		Claims:    []activities.OrphanClaim{{Claim: "c", Node: "n-c"}},
		Vanished:  []activities.VanishedInstance{{WorkflowID: "node/d", InstanceID: "i-4", State: "terminated"}},
	}
	env.OnActivity(gcActs.FindGarbage, mock.Anything, mock.Anything).Return(func(context.Context, activities.GarbageQuery) (activities.Garbage, error) {
		mu.Lock()
		defer mu.Unlock()
		looks = append(looks, env.Now().Sub(start))
		if len(looks) == 1 {
			return first, nil
		}
		if len(looks) == 2 {
			return activities.Garbage{}, temporal.NewNonRetryableApplicationError("ec2 unavailable", "Unavailable", nil)
		}
		return activities.Garbage{}, nil
	})
	env.OnActivity(gcActs.CollectInstance, mock.Anything, mock.Anything).Return(func(_ context.Context, o activities.OrphanInstance) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		collected = append(collected, o.ID)
		// i-2's workflow was reset meanwhile: nothing reclaimed.
		return o.ID == "i-1", nil
	})
	env.OnActivity(gcActs.CollectClaim, mock.Anything, mock.Anything).Return(func(_ context.Context, o activities.OrphanClaim) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		collected = append(collected, o.Claim)
		return true, nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, "node/d", "", SignalInterrupt, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			mu.Lock()
			defer mu.Unlock()
			interrupts = append(interrupts, arg.(Interrupt))
			return nil
		})
	var afterFailedLook, state GarbageCollectorState
	queryAt := func(d time.Duration, into *GarbageCollectorState) {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryState)
			if err != nil {
				t.Errorf("query: %v", err)
				return
			}
			_ = v.Get(into)
		}, d)
	}
	queryAt(90*time.Second, &afterFailedLook)
	queryAt(150*time.Second, &state)

	env.ExecuteWorkflow(GarbageCollectorWorkflow, GarbageCollectorInput{Every: Duration(time.Minute)})

	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new after %d looks", err, maxLooksPerRun)
	}
	if len(looks) != maxLooksPerRun || looks[1] != time.Minute || looks[2] != 2*time.Minute {
		t.Errorf("looked %d times, the second after %v; want %d looks a minute apart", len(looks), looks[1], maxLooksPerRun)
	}
	if len(collected) != 3 {
		t.Errorf("collected %v, want i-1, i-2 and claim c once each", collected)
	}
	if len(interrupts) != 1 || interrupts[0].Kind != InterruptInstanceGone || !interrupts[0].Deadline.Equal(start) || interrupts[0].InstanceID != "i-4" {
		t.Errorf("interrupts sent %+v, want one %s due at once (%v)", interrupts, InterruptInstanceGone, start)
	}
	if !strings.Contains(afterFailedLook.LastError, "ec2 unavailable") {
		t.Errorf("after the failed look the state says %q, want the failure", afterFailedLook.LastError)
	}
	want := GarbageCollectorState{Looks: 3, Reclaimed: 2, VanishedSignalled: 1, LastLook: start.Add(2 * time.Minute)}
	if !state.LastLook.Equal(want.LastLook) {
		t.Errorf("last look at %v, want %v", state.LastLook, want.LastLook)
	}
	state.LastLook = want.LastLook
	if !reflect.DeepEqual(state, want) {
		t.Errorf("state after 2m30s = %+v\nwant %+v", state, want)
	}
}

func TestGarbageCollectorTakesANewPeriodAndStopsWhenTold(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(GarbageCollectorWorkflow)
	start := env.Now()
	var looks []time.Duration
	var missing []map[string]time.Time
	env.OnActivity(gcActs.FindGarbage, mock.Anything, mock.Anything).Return(func(_ context.Context, q activities.GarbageQuery) (activities.Garbage, error) {
		looks = append(looks, env.Now().Sub(start))
		missing = append(missing, q.Missing)
		return activities.Garbage{Missing: map[string]time.Time{"i-1": start}}, nil
	})
	settings := func(at time.Duration, s GarbageCollectorSettings) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalGarbageCollectorSettings, s) }, at)
	}
	settings(30*time.Second, GarbageCollectorSettings{Every: Duration(10 * time.Second)})
	settings(40*time.Second, GarbageCollectorSettings{Every: Duration(time.Millisecond)}) // ignored: too short
	settings(135*time.Second, GarbageCollectorSettings{Off: true})

	env.ExecuteWorkflow(GarbageCollectorWorkflow, GarbageCollectorInput{Every: Duration(time.Minute)})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow ended with %v, want it to stop cleanly when told", err)
	}
	// The current sleep runs out; the next ones take the new period.
	want := []time.Duration{0, time.Minute, 70 * time.Second, 80 * time.Second, 90 * time.Second, 100 * time.Second, 110 * time.Second, 120 * time.Second, 130 * time.Second}
	if !slices.Equal(looks, want) {
		t.Errorf("looks at %v, want %v", looks, want)
	}
	if len(missing[0]) != 0 || !missing[1]["i-1"].Equal(start) {
		t.Errorf("missing instances handed to the looks: %v, want each look to get the one before's", missing[:2])
	}
}
