package workflows

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

const testClaim = "default-abcde"

func testNodeClaim() activities.Claim {
	return activities.Claim{
		Name: testClaim, NodePool: "default", Pods: []string{"ns/web-1", "ns/web-2"},
		InstanceTypes: []string{"m5.large", "m5.xlarge"}, Zones: []string{"us-east-1a"},
		CapacityTypes: []string{"on-demand", "spot"},
		Labels:        map[string]string{"team": "web"},
		Taints:        []corev1.Taint{{Key: "dedicated", Value: "web", Effect: corev1.TaintEffectNoSchedule}},
		PricePerHour:  0.035,
	}
}

func testInstance() activities.Instance {
	return activities.Instance{ID: "i-0abc", Type: "m5.large", Zone: "us-east-1a", CapacityType: "spot"}
}

const testNode = "ip-10-0-0-7"

// terminateTheClaimsInstance is what Terminate is asked: the instance, and the tags that
// must say it is this claim's.
func terminateTheClaimsInstance() activities.TerminateRequest {
	return activities.TerminateRequest{InstanceID: testInstance().ID, WorkflowID: NodeWorkflowID(testClaim), NodeClaim: testClaim}
}

// deleteTheClaimsNode is what DeleteNode is asked: the Node, and the instance its providerID
// must name.
func deleteTheClaimsNode() activities.DeleteNodeRequest {
	return activities.DeleteNodeRequest{NodeName: testNode, InstanceID: testInstance().ID}
}

// registersTheInstance matches the registration of the launched instance's Node, which must
// come with the labels registration puts on it and without a node name of its own.
func registersTheInstance() any {
	return mock.MatchedBy(func(req activities.RegisterRequest) bool {
		return req.ProviderID == testInstance().ProviderID() && req.Sync.NodeName == "" &&
			req.Sync.Labels[v1.LabelNodeClaim] == testClaim && req.Sync.Labels[v1.LabelCapacityType] == "spot"
	})
}

// nodeRun runs a NodeLifecycle in the test environment and records the activities it
// called, the search attributes it upserted and the signals it sent to the provisioner.
type nodeRun struct {
	env        *testsuite.TestWorkflowEnvironment
	start      time.Time
	activities []string
	phasesSA   []string
	lastSA     map[string]string
	signals    []string
	failed     []ClaimFailed
	ec2        *activities.EC2
	kube       *activities.Kube
	nodeClaims *activities.NodeClaims
	signalActs *activities.Signals
	// projections are the phases the NodeClaim was written at, in order; ProjectNodeClaim is
	// left out of activities so that the lifecycle's own steps read plainly.
	projections []string
	// disrupting says, for each projection, whether it carried a disruption.
	disrupting []bool
}

func newNodeRun(t *testing.T) *nodeRun {
	t.Helper()
	return newNodeRunIn(t, &testsuite.WorkflowTestSuite{})
}

// newNodeRunIn is newNodeRun in a suite of the test's own, such as one with a metrics handler.
func newNodeRunIn(t *testing.T, suite *testsuite.WorkflowTestSuite) *nodeRun {
	t.Helper()
	r := &nodeRun{env: suite.NewTestWorkflowEnvironment(), ec2: &activities.EC2{}, kube: &activities.Kube{},
		nodeClaims: &activities.NodeClaims{}, signalActs: &activities.Signals{}, lastSA: map[string]string{}}
	r.start = r.env.Now()
	r.env.RegisterWorkflow(NodeLifecycleWorkflow)
	r.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: NodeWorkflowID(testClaim), TaskQueue: TaskQueue})
	onActivityStarted(r.env, func(name string, _ func(any) error) {
		if name == "ProjectNodeClaim" || name == "Signal" {
			return // recorded by their mocks, in projections and signals
		}
		r.activities = append(r.activities, name)
	})
	// A compact run tells the provisioner from a local activity, an older one by a signal
	// command: both are recorded in signals.
	r.env.OnActivity(r.signalActs.Signal, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.SignalRequest) error {
			if slices.Contains(req.WorkflowIDs, ProvisionerID) {
				r.signals = append(r.signals, req.Name)
			}
			return nil
		})
	r.env.OnActivity(r.nodeClaims.ProjectNodeClaim, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p activities.NodeClaimProjection) error {
			r.projections = append(r.projections, p.Phase)
			r.disrupting = append(r.disrupting, p.Disruption != nil)
			return nil
		})
	r.env.OnActivity(r.nodeClaims.ReleaseNodeClaim, mock.Anything, testClaim).Return(nil)
	r.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		for _, key := range []temporal.SearchAttributeKeyKeyword{
			SearchAttrNodePool, SearchAttrNodePhase, SearchAttrNodeName, SearchAttrInstanceID,
			SearchAttrInstanceType, SearchAttrZone, SearchAttrCapacityType,
		} {
			if v, ok := sa.GetKeyword(key); ok {
				r.lastSA[key.GetName()] = v
			}
		}
		phase, _ := sa.GetKeyword(SearchAttrNodePhase)
		r.phasesSA = append(r.phasesSA, phase)
	}).Return(nil)
	r.env.OnSignalExternalWorkflow(mock.Anything, ProvisionerID, "", mock.Anything, mock.Anything).Return(
		func(_, _, _ string, name string, arg any) error {
			r.signals = append(r.signals, name)
			if f, ok := arg.(ClaimFailed); ok {
				r.failed = append(r.failed, f)
			}
			return nil
		})
	return r
}

// happyPath mocks every activity to succeed, each taking a minute of workflow time so that
// the phases can be observed in between.
func (r *nodeRun) happyPath() {
	r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).After(time.Minute).Return(testInstance(), nil)
	r.env.OnActivity(r.kube.RegisterNode, mock.Anything, registersTheInstance()).After(time.Minute).Return(testNode, nil)
	r.env.OnActivity(r.kube.WaitForNode, mock.Anything, testInstance().ProviderID()).After(time.Minute).Return(testNode, nil) // runs recorded before RegisterNode
	r.env.OnActivity(r.kube.SyncNode, mock.Anything, mock.Anything).Return(nil)
	r.env.OnActivity(r.kube.WaitNodeInitialized, mock.Anything, activities.InitializeRequest{NodeName: testNode}).After(time.Minute).Return(nil)
	r.env.OnActivity(r.kube.TaintOwnNode, mock.Anything, activities.TaintRequest{NodeName: testNode, InstanceID: testInstance().ID, Taint: activities.DisruptedTaint()}).Return(nil)
	r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.MatchedBy(func(req activities.DrainRequest) bool {
		return req.NodeName == testNode && req.InstanceID == testInstance().ID
	})).
		After(time.Minute).Return(activities.DrainResult{Evicted: []string{"ns/web-1"}, Completed: true}, nil)
	r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).After(time.Minute).Return(nil)
	r.env.OnActivity(r.kube.DeleteNode, mock.Anything, deleteTheClaimsNode()).Return(nil)
	// A restored run's checks of its state: the world agrees.
	r.env.OnActivity(r.ec2.VerifyInstance, mock.Anything, activities.InstanceCheck(terminateTheClaimsInstance())).Return(nil)
	r.env.OnActivity(r.kube.VerifyNode, mock.Anything, activities.NodeCheck{NodeName: testNode, InstanceID: testInstance().ID}).Return(nil)
}

// onActivityStarted calls listen with the name of each activity, local or not, as it starts,
// and a function that decodes its first argument.
func onActivityStarted(env *testsuite.TestWorkflowEnvironment, listen func(name string, arg func(into any) error)) {
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		listen(info.ActivityType.Name, func(into any) error { return args.Get(into) })
	})
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		listen(info.ActivityType.Name, func(into any) error {
			if len(args) == 0 {
				return fmt.Errorf("local activity %s has no argument", info.ActivityType.Name)
			}
			v := reflect.ValueOf(into)
			if v.Kind() != reflect.Pointer || !reflect.TypeOf(args[0]).AssignableTo(v.Elem().Type()) {
				return fmt.Errorf("local activity %s: argument %T does not go into %T", info.ActivityType.Name, args[0], into)
			}
			v.Elem().Set(reflect.ValueOf(args[0]))
			return nil
		})
	})
}

func (r *nodeRun) at(d time.Duration, fn func()) { r.env.RegisterDelayedCallback(fn, d) }

func (r *nodeRun) query(t *testing.T) NodeState {
	t.Helper()
	v, err := r.env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatalf("query state: %v", err)
	}
	var s NodeState
	if err := v.Get(&s); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	return s
}

func (r *nodeRun) execute() {
	r.env.ExecuteWorkflow(NodeLifecycleWorkflow, NodeLifecycleInput{Claim: testNodeClaim()})
}

func phasesOf(s NodeState) []Phase {
	var out []Phase
	for _, c := range s.Transitions {
		out = append(out, c.Phase)
	}
	return out
}

func TestNodeLifecycleHappyPath(t *testing.T) {
	r := newNodeRun(t)
	r.happyPath()
	// Launch 0-1m, registration 1-2m, Ready wait 2-3m, drain signal at 10m, drain 10-11m,
	// terminate 11-12m.
	seen := map[time.Duration]NodeState{}
	for _, at := range []time.Duration{30 * time.Second, 90 * time.Second, 150 * time.Second, 5 * time.Minute, 630 * time.Second, 690 * time.Second} {
		r.at(at, func() { seen[at] = r.query(t) })
	}
	r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "test"}) })
	r.execute()

	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantPhases := map[time.Duration]Phase{
		30 * time.Second: PhaseLaunching, 90 * time.Second: PhaseRegistering, 150 * time.Second: PhaseInitializing,
		5 * time.Minute: PhaseReady, 630 * time.Second: PhaseDraining, 690 * time.Second: PhaseTerminating,
	}
	for at, want := range wantPhases {
		if got := seen[at].Phase; got != want {
			t.Errorf("phase at %s = %s, want %s", at, got, want)
		}
	}
	if ready := seen[5*time.Minute]; ready.NodeName != testNode || ready.InstanceID != "i-0abc" || ready.Zone != "us-east-1a" ||
		ready.CapacityType != "spot" || ready.InstanceType != "m5.large" || ready.PricePerHour != 0.035 ||
		!slices.Equal(ready.Pods, []string{"ns/web-1", "ns/web-2"}) || ready.Claim != testClaim || ready.NodePool != "default" {
		t.Errorf("state when Ready = %+v, want node, instance, claim and pods filled in", ready)
	}

	wantActivities := []string{"Launch", "RegisterNode", "WaitNodeInitialized", "TaintOwnNode", "DrainNode", "Terminate", "DeleteNode", "ReleaseNodeClaim"}
	if !slices.Equal(r.activities, wantActivities) {
		t.Errorf("activities %v, want %v", r.activities, wantActivities)
	}
	// The NodeClaim follows every phase, the drain request with the Draining phase it starts at
	// once, and is released (above) only after the instance is terminated.
	wantProjections := []string{"Launching", "Registering", "Initializing", "Ready", "Draining", "Terminating"}
	if !slices.Equal(r.projections, wantProjections) {
		t.Errorf("NodeClaim written at %v, want %v", r.projections, wantProjections)
	}

	var result NodeLifecycleResult
	if err := r.env.GetWorkflowResult(&result); err != nil {
		t.Fatal(err)
	}
	all := []Phase{PhaseLaunching, PhaseRegistering, PhaseInitializing, PhaseReady, PhaseDraining, PhaseTerminating, PhaseTerminated}
	if got := phasesOf(result.State); !slices.Equal(got, all) {
		t.Errorf("phase history %v, want %v", got, all)
	}
	wantTimes := []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 10 * time.Minute, 11 * time.Minute, 12 * time.Minute}
	for i, c := range result.State.Transitions {
		if got := c.At.Sub(r.start); got != wantTimes[i] {
			t.Errorf("entered %s at %s, want %s", c.Phase, got, wantTimes[i])
		}
	}
	if result.State.DrainReason != "test" {
		t.Errorf("drain reason %q, want test", result.State.DrainReason)
	}

	// A drain that starts at once writes DisruptionReason with the Draining phase.
	wantSA := []string{"Launching", "Registering", "Initializing", "Ready", "Draining", "Terminating", "Terminated"}
	if !slices.Equal(r.phasesSA, wantSA) {
		t.Errorf("NodePhase upserts %v, want %v", r.phasesSA, wantSA)
	}
	for key, want := range map[string]string{
		"NodePool": "default", "NodeName": testNode, "InstanceID": "i-0abc",
		"InstanceType": "m5.large", "Zone": "us-east-1a", "CapacityType": "spot", "NodePhase": "Terminated",
	} {
		if r.lastSA[key] != want {
			t.Errorf("search attribute %s = %q, want %q", key, r.lastSA[key], want)
		}
	}
	if !slices.Equal(r.signals, []string{SignalNodeReady}) {
		t.Errorf("signals to the provisioner %v, want [%s]", r.signals, SignalNodeReady)
	}
}

func TestNodeLifecycleShowsWhatItsNodeCosts(t *testing.T) {
	const planned, launched = 0.035, 0.0421 // testNodeClaim's planned price; the spot price it launched at
	tests := []struct {
		name string
		// launchedPrice is what Launch says the instance costs; 0 when the market had no figure.
		launchedPrice float64
		// recordedBefore replays a run from before the price memo.
		recordedBefore bool
		wantPrice      float64
		wantMemo       []any
	}{
		{name: "the launched offering's price replaces the planned one, in the state and the memo",
			launchedPrice: launched, wantPrice: launched, wantMemo: []any{launched}},
		{name: "an instance the market could not price shows the planned price",
			wantPrice: planned, wantMemo: []any{planned}},
		{name: "a run from before the price memo keeps the launched price in its state and upserts no memo",
			launchedPrice: launched, recordedBefore: true, wantPrice: launched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newNodeRun(t)
			inst := testInstance()
			inst.PricePerHour = tt.launchedPrice
			r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).After(time.Minute).Return(inst, nil)
			r.happyPath() // its Launch is never reached: the one above matches first
			if tt.recordedBefore {
				r.env.OnGetVersion(changeCompactHistory, workflow.DefaultVersion, compactRegisterAndSync).Return(workflow.DefaultVersion)
				r.env.OnGetVersion(changePriceMemo, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			var memo []any
			r.env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
				memo = append(memo, args.Get(0).(map[string]any)[MemoPricePerHour])
			}).Return(nil)
			var launching, ready NodeState
			r.at(30*time.Second, func() { launching = r.query(t) })
			r.at(5*time.Minute, func() { ready = r.query(t) })
			r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "test"}) })
			r.execute()

			if err := r.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if launching.PricePerHour != planned {
				t.Errorf("price while launching = %v/h, want the planned %v", launching.PricePerHour, planned)
			}
			if ready.PricePerHour != tt.wantPrice {
				t.Errorf("price when Ready = %v/h, want %v", ready.PricePerHour, tt.wantPrice)
			}
			if !slices.Equal(memo, tt.wantMemo) {
				t.Errorf("memo %s upserts %v, want %v", MemoPricePerHour, memo, tt.wantMemo)
			}
		})
	}
}

// Registration syncs the Node it finds with Karpenter's labels and the pool's taints: in the
// activity that finds it, or, in a run recorded before that, in SyncNode right after.
func TestNodeLifecycleSyncsKarpentersRegistrationLabels(t *testing.T) {
	for _, recorded := range []workflow.Version{compactRegisterAndSync, 1} {
		t.Run(fmt.Sprintf("compact-history %d", recorded), func(t *testing.T) {
			r := newNodeRun(t)
			r.happyPath()
			if recorded != compactRegisterAndSync {
				r.env.OnGetVersion(changeCompactHistory, workflow.DefaultVersion, compactRegisterAndSync).Return(recorded)
			}
			var sync activities.SyncRequest
			onActivityStarted(r.env, func(name string, args func(any) error) {
				switch name {
				case "SyncNode":
					_ = args(&sync)
				case "RegisterNode":
					var req activities.RegisterRequest
					_ = args(&req)
					sync = req.Sync
					sync.NodeName = testNode // the Node RegisterNode finds
				}
			})
			r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{}) })
			r.execute()

			want := map[string]string{
				"team": "web", "karpenter.sh/nodepool": "default", "karpenter.sh/nodeclaim": testClaim,
				"karpenter.sh/registered": "true", "karpenter.sh/capacity-type": "spot",
			}
			for k, v := range want {
				if sync.Labels[k] != v {
					t.Errorf("synced label %s = %q, want %q", k, sync.Labels[k], v)
				}
			}
			if sync.NodeName != testNode || !slices.Equal(sync.Taints, testNodeClaim().Taints) {
				t.Errorf("synced %s with taints %v, want %s with the pool's taints", sync.NodeName, sync.Taints, testNode)
			}
		})
	}
}

// Initialization waits for the resources the claim's pods request (a GPU's device plugin
// registering it) in a run recorded since registration synced the Node; an older run keeps
// the request it made.
func TestNodeLifecycleInitializationWaitsForTheRequestedResources(t *testing.T) {
	claim := testNodeClaim()
	claim.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), "nvidia.com/gpu": resource.MustParse("1")}
	for _, tt := range []struct {
		recorded workflow.Version
		want     corev1.ResourceList
	}{{recorded: compactRegisterAndSync, want: claim.Requests}, {recorded: 1}} {
		t.Run(fmt.Sprintf("compact-history %d", tt.recorded), func(t *testing.T) {
			r := newNodeRun(t)
			var got activities.InitializeRequest
			r.env.OnActivity(r.kube.WaitNodeInitialized, mock.Anything, mock.Anything).Return(
				func(_ context.Context, req activities.InitializeRequest) error { got = req; return nil })
			r.happyPath()
			if tt.recorded != compactRegisterAndSync {
				r.env.OnGetVersion(changeCompactHistory, workflow.DefaultVersion, compactRegisterAndSync).Return(tt.recorded)
			}
			r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{}) })
			r.env.ExecuteWorkflow(NodeLifecycleWorkflow, NodeLifecycleInput{Claim: claim})

			if err := r.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if got.NodeName != testNode || !equality.Semantic.DeepEqual(got.Requests, tt.want) {
				t.Errorf("waited for %s with requests %v, want %s with %v", got.NodeName, got.Requests, testNode, tt.want)
			}
		})
	}
}

func TestNodeLifecycleFailures(t *testing.T) {
	iceOffering := activities.Offering{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"}
	tests := []struct {
		name            string
		mock            func(r *nodeRun)
		wantActivities  []string
		wantError       string
		wantUnavailable []activities.Offering
	}{
		{
			name: "no capacity at launch fails the claim without terminating anything",
			mock: func(r *nodeRun) {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(activities.Instance{},
					temporal.NewNonRetryableApplicationError("no capacity", activities.ErrTypeInsufficientCapacity, nil, []activities.Offering{iceOffering}))
			},
			wantActivities:  []string{"Launch", "ReleaseNodeClaim"},
			wantError:       "launch failed",
			wantUnavailable: []activities.Offering{iceOffering},
		},
		{
			name: "a node that never registers has its instance terminated",
			mock: func(r *nodeRun) {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
				r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).Return("", scheduleToCloseTimeout())
				r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).Return(nil)
			},
			wantActivities: []string{"Launch", "RegisterNode", "Terminate", "DeleteNode", "ReleaseNodeClaim"},
			wantError:      "registered within 15m0s",
		},
		{
			name: "a node that never becomes Ready is terminated and its Node deleted, the error saying what it waited for",
			mock: func(r *nodeRun) {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
				r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).Return(testNode, nil)
				r.env.OnActivity(r.kube.WaitNodeInitialized, mock.Anything, activities.InitializeRequest{NodeName: testNode}).Return(
					temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil, "node "+testNode+" has no nvidia.com/gpu in allocatable yet"))
				r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).Return(nil)
				r.env.OnActivity(r.kube.DeleteNode, mock.Anything, deleteTheClaimsNode()).Return(nil)
			},
			wantActivities: []string{"Launch", "RegisterNode", "WaitNodeInitialized", "Terminate", "DeleteNode", "ReleaseNodeClaim"},
			wantError:      "not Ready within 15m0s, last: node " + testNode + " has no nvidia.com/gpu in allocatable yet",
		},
		{
			name: "an interruption while the node registers fails the claim at once",
			mock: func(r *nodeRun) {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
				r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).After(10*time.Minute).Return(testNode, nil)
				r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).Return(nil)
				r.at(2*time.Minute, func() { r.env.SignalWorkflow(SignalInterrupt, Interrupt{Kind: "SpotInterruption"}) })
			},
			wantActivities: []string{"Launch", "RegisterNode", "Terminate", "DeleteNode", "ReleaseNodeClaim"},
			wantError:      "interrupted (SpotInterruption) before its node was Ready",
		},
		{
			name: "an interruption about another instance (one of a run since reset) is ignored",
			mock: func(r *nodeRun) {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
				r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).After(10*time.Minute).Return(testNode, nil)
				r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).Return(nil)
				r.at(2*time.Minute, func() {
					r.env.SignalWorkflow(SignalInterrupt, Interrupt{Kind: InterruptInstanceGone, InstanceID: "i-0earlierrun"})
				})
				r.at(3*time.Minute, func() {
					r.env.SignalWorkflow(SignalInterrupt, Interrupt{Kind: "SpotInterruption", InstanceID: testInstance().ID})
				})
			},
			wantActivities: []string{"Launch", "RegisterNode", "Terminate", "DeleteNode", "ReleaseNodeClaim"},
			wantError:      "interrupted (SpotInterruption) before its node was Ready",
		},
		{
			name: "an interruption while the node initializes fails the claim at once",
			mock: func(r *nodeRun) {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
				r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).Return(testNode, nil)
				r.env.OnActivity(r.kube.WaitNodeInitialized, mock.Anything, activities.InitializeRequest{NodeName: testNode}).After(10 * time.Minute).Return(nil)
				r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).Return(nil)
				r.env.OnActivity(r.kube.DeleteNode, mock.Anything, deleteTheClaimsNode()).Return(nil)
				r.at(2*time.Minute, func() { r.env.SignalWorkflow(SignalInterrupt, Interrupt{Kind: "ScheduledChange"}) })
			},
			wantActivities: []string{"Launch", "RegisterNode", "WaitNodeInitialized", "Terminate", "DeleteNode", "ReleaseNodeClaim"},
			wantError:      "interrupted (ScheduledChange) before its node was Ready",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newNodeRun(t)
			tt.mock(r)
			// A Node its registration may have synced before failing is deleted by its
			// instance's providerID (whether or not one registered).
			r.env.OnActivity(r.kube.DeleteNode, mock.Anything, activities.DeleteNodeRequest{
				InstanceID: testInstance().ID, ProviderID: testInstance().ProviderID()}).Return(nil)
			r.execute()

			err := r.env.GetWorkflowError()
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != ErrTypeClaimFailed {
				t.Fatalf("workflow error %v, want a %s application error", err, ErrTypeClaimFailed)
			}
			if !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("workflow error %q does not say %q", err, tt.wantError)
			}
			if got := dedupe(r.activities); !slices.Equal(got, tt.wantActivities) {
				t.Errorf("activities %v, want %v", got, tt.wantActivities)
			}
			if st := r.query(t); st.Phase != PhaseFailed || !strings.Contains(st.LastError, tt.wantError) {
				t.Errorf("final state phase %s error %q, want Failed with %q", st.Phase, st.LastError, tt.wantError)
			}
			if len(r.failed) != 1 {
				t.Fatalf("%d claim-failed signals, want 1 (signals: %v)", len(r.failed), r.signals)
			}
			f := r.failed[0]
			if f.Claim != testClaim || !slices.Equal(f.Pods, testNodeClaim().Pods) || !slices.Equal(f.Unavailable, tt.wantUnavailable) {
				t.Errorf("claim-failed %+v, want claim %s, its pods and unavailable %v", f, testClaim, tt.wantUnavailable)
			}
			if r.phasesSA[len(r.phasesSA)-1] != string(PhaseFailed) {
				t.Errorf("last NodePhase upsert %q, want Failed", r.phasesSA[len(r.phasesSA)-1])
			}
		})
	}
}

// A failed claim's pods need not wait for its instance to finish terminating, which may take
// long: the provisioner is told first, and the node shows Terminating meanwhile.
func TestFailedClaimIsReportedBeforeItsCleanUp(t *testing.T) {
	r := newNodeRun(t)
	r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
	r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).Return("", scheduleToCloseTimeout())
	r.env.OnActivity(r.ec2.Terminate, mock.Anything, terminateTheClaimsInstance()).After(time.Hour).Return(nil)
	var during NodeState
	var failedDuring int
	r.at(30*time.Minute, func() { during, failedDuring = r.query(t), len(r.failed) })
	r.execute()

	if failedDuring != 1 || during.Phase != PhaseTerminating {
		t.Errorf("while the instance terminates: %d claim-failed signals, phase %s; want 1 and Terminating", failedDuring, during.Phase)
	}
	if st := r.query(t); st.Phase != PhaseFailed || len(r.failed) != 1 {
		t.Errorf("in the end: phase %s, %d claim-failed signals; want Failed and still 1", st.Phase, len(r.failed))
	}
}

// scheduleToCloseTimeout is what a waiting activity fails with when its limit passes. (The
// test environment does not enforce activity timeouts on mocks, so the mock returns it.)
func scheduleToCloseTimeout() error {
	return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)
}

// dedupe collapses retries of the same activity into one entry.
func dedupe(names []string) []string { return slices.Compact(slices.Clone(names)) }

func TestNodeLifecycleRetriedLaunchReusesTheClientToken(t *testing.T) {
	r := newNodeRun(t)
	var tokens []string
	record := func(_ context.Context, req activities.LaunchRequest) {
		tokens = append(tokens, req.ClientToken)
	}
	r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, req activities.LaunchRequest) (activities.Instance, error) {
			record(ctx, req)
			return activities.Instance{}, errors.New("connection reset")
		}).Once()
	r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, req activities.LaunchRequest) (activities.Instance, error) {
			record(ctx, req)
			return testInstance(), nil
		}).Once()
	r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).Return("", temporal.NewNonRetryableApplicationError("stop here", "Test", nil))
	r.env.OnActivity(r.ec2.Terminate, mock.Anything, mock.Anything).Return(nil)
	r.execute()

	want := LaunchClientToken(NodeWorkflowID(testClaim))
	if len(tokens) != 2 || tokens[0] != want || tokens[1] != want {
		t.Errorf("client tokens %v, want %s on both attempts", tokens, want)
	}
	if len(want) > 64 {
		t.Errorf("client token %q is %d characters, over EC2's 64", want, len(want))
	}
}

func TestNodeLifecycleWaitsForReadyBeforeDraining(t *testing.T) {
	r := newNodeRun(t)
	r.happyPath()
	// A drain requested while the node is still launching is held until the node is Ready.
	r.at(10*time.Second, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "early"}) })
	r.execute()
	var result NodeLifecycleResult
	if err := r.env.GetWorkflowResult(&result); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	ready := slices.IndexFunc(result.State.Transitions, func(c PhaseChange) bool { return c.Phase == PhaseReady })
	draining := slices.IndexFunc(result.State.Transitions, func(c PhaseChange) bool { return c.Phase == PhaseDraining })
	if ready < 0 || draining < ready {
		t.Errorf("phase history %v, want Ready before Draining", phasesOf(result.State))
	}
}

func TestNodeLifecycleCancelledWhileReadyDrainsAndTerminates(t *testing.T) {
	r := newNodeRun(t)
	r.happyPath()
	r.at(10*time.Minute, r.env.CancelWorkflow)
	r.execute()
	if err := r.env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Errorf("workflow error %v, want cancelled", err)
	}
	if !slices.Contains(r.activities, "Terminate") || !slices.Contains(r.activities, "DrainNode") {
		t.Errorf("activities %v: a cancelled node must still be drained and terminated", r.activities)
	}
}
