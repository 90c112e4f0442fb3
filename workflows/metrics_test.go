package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// countRecorder is a metrics handler that records increments of the counters of Counters,
// each as name{label=value,...} with the labels the spec names, in order.
type countRecorder struct {
	mu     *sync.Mutex
	counts map[string]int64
	// gauges are the last values of the gauges of Gauges, by name.
	gauges map[string]float64
	specs  map[string]CounterSpec
	tags   map[string]string
}

func newCountRecorder() countRecorder {
	r := countRecorder{mu: &sync.Mutex{}, counts: map[string]int64{}, gauges: map[string]float64{}, specs: map[string]CounterSpec{}}
	for _, s := range Counters() {
		r.specs[s.Name] = s
	}
	return r
}

func (r countRecorder) WithTags(tags map[string]string) client.MetricsHandler {
	next := r
	next.tags = maps.Clone(r.tags)
	if next.tags == nil {
		next.tags = map[string]string{}
	}
	maps.Copy(next.tags, tags)
	return next
}

func (r countRecorder) Counter(name string) client.MetricsCounter {
	spec, ok := r.specs[name]
	if !ok {
		return client.MetricsNopHandler.Counter(name) // the SDK's own
	}
	var pairs []string
	for _, l := range spec.Labels {
		pairs = append(pairs, fmt.Sprintf("%s=%s", l, r.tags[l]))
	}
	key := name + "{" + strings.Join(pairs, ",") + "}"
	return counterFunc(func(d int64) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.counts[key] += d
	})
}

func (r countRecorder) Gauge(name string) client.MetricsGauge {
	if !slices.ContainsFunc(Gauges(), func(g GaugeSpec) bool { return g.Name == name }) {
		return client.MetricsNopHandler.Gauge(name) // the SDK's own
	}
	return gaugeFunc(func(v float64) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.gauges[name] = v
	})
}

// gauge is a gauge's last value, and whether it was ever set.
func (r countRecorder) gauge(name string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.gauges[name]
	return v, ok
}

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

func (r countRecorder) Timer(name string) client.MetricsTimer {
	return client.MetricsNopHandler.Timer(name)
}

func (r countRecorder) snapshot() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.counts)
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

func TestNodeLifecycleCountsItsLifeAsKarpenterDoes(t *testing.T) {
	created := "karpenter_nodeclaims_created_total{reason=provisioned,nodepool=default,min_values_relaxed=false}"
	nodeCreated := "karpenter_nodes_created_total{nodepool=default,zone=us-east-1a}"
	nodeTerminated := "karpenter_nodes_terminated_total{nodepool=default,zone=us-east-1a}"
	claimTerminated := "karpenter_nodeclaims_terminated_total{nodepool=default,capacity_type=spot,zone=us-east-1a}"
	tests := []struct {
		name string
		in   NodeLifecycleInput
		// launchFails makes the launch fail for want of capacity.
		launchFails bool
		// signal is sent ten minutes in, when the node is Ready.
		signal string
		arg    any
		want   map[string]int64
	}{
		{
			name: "a node drained by hand is created and terminated, and not disrupted",
			in:   NodeLifecycleInput{Claim: testNodeClaim()}, signal: SignalDrain, arg: DrainRequest{Reason: "kernel"},
			want: map[string]int64{created: 1, nodeCreated: 1, nodeTerminated: 1, claimTerminated: 1},
		},
		{
			name: "an interrupted spot node is disrupted for spot_interrupted",
			in:   NodeLifecycleInput{Claim: testNodeClaim()}, signal: SignalInterrupt, arg: Interrupt{Kind: "SpotInterruption"},
			want: map[string]int64{created: 1, nodeCreated: 1, nodeTerminated: 1, claimTerminated: 1,
				"karpenter_nodeclaims_disrupted_total{reason=spot_interrupted,nodepool=default,capacity_type=spot,consolidation_policy=,termination_mode=graceful}": 1},
		},
		{
			name: "a node the disruption controller removes is disrupted for its reason, eventually when the pool bounds the drain",
			in: NodeLifecycleInput{Claim: func() activities.Claim {
				c := testNodeClaim()
				c.TerminationGracePeriod = time.Hour
				return c
			}()},
			signal: SignalDisrupt, arg: Disrupt{Reason: disruption.ReasonUnderutilized, DecisionID: "d-1"},
			want: map[string]int64{created: 1, nodeCreated: 1, nodeTerminated: 1, claimTerminated: 1,
				"karpenter_nodeclaims_disrupted_total{reason=underutilized,nodepool=default,capacity_type=spot,consolidation_policy=,termination_mode=eventual}": 1},
		},
		{
			name:   "a replacement is created for the reason of the disruption it replaces for",
			in:     NodeLifecycleInput{Claim: testNodeClaim(), Notify: DisruptionID, CreationReason: disruption.ReasonDrifted},
			signal: SignalDrain, arg: DrainRequest{},
			want: map[string]int64{"karpenter_nodeclaims_created_total{reason=drifted,nodepool=default,min_values_relaxed=false}": 1,
				nodeCreated: 1, nodeTerminated: 1, claimTerminated: 1},
		},
		{
			name: "a claim that never launched counts nothing",
			in:   NodeLifecycleInput{Claim: testNodeClaim()}, launchFails: true,
			want: map[string]int64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newCountRecorder()
			suite := &testsuite.WorkflowTestSuite{}
			suite.SetMetricsHandler(rec)
			r := newNodeRunIn(t, suite)
			r.env.OnSignalExternalWorkflow(mock.Anything, DisruptionID, "", mock.Anything, mock.Anything).Return(nil).Maybe()
			if tt.launchFails {
				r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(activities.Instance{},
					temporal.NewNonRetryableApplicationError("no capacity", activities.ErrTypeInsufficientCapacity, nil))
			} else {
				r.happyPath()
				r.at(10*time.Minute, func() { r.env.SignalWorkflow(tt.signal, tt.arg) })
			}
			r.env.ExecuteWorkflow(NodeLifecycleWorkflow, tt.in)
			if got := rec.snapshot(); !maps.Equal(got, tt.want) {
				t.Errorf("counted\n  %v\nwant\n  %v", sortedCounts(got), sortedCounts(tt.want))
			}
		})
	}
}

func TestDisruptionControllerCountsItsDecisions(t *testing.T) {
	tests := []struct {
		name     string
		decision activities.DisruptionDecision
		invalid  string
		want     map[string]int64
	}{
		{
			name: "empty nodes deleted",
			decision: activities.DisruptionDecision{
				Command: &disruption.Command{Method: disruption.MethodEmptiness, Reason: disruption.ReasonEmpty, Nodes: []string{"n1", "n2"}},
				Nodes:   []activities.NodeRef{{Name: "n1", Claim: "c1"}, {Name: "n2", Claim: "c2"}},
			},
			want: map[string]int64{"karpenter_voluntary_disruption_decisions_total{decision=delete,reason=empty,consolidation_type=empty}": 1},
		},
		{
			name: "a node replaced by a cheaper one",
			decision: activities.DisruptionDecision{
				Command:     &disruption.Command{Method: disruption.MethodSingleNodeConsolidation, Reason: disruption.ReasonUnderutilized, Nodes: []string{"n1"}},
				Nodes:       []activities.NodeRef{{Name: "n1", Claim: "c1"}},
				Replacement: &activities.Claim{NodePool: "default", InstanceTypes: []string{"m5.large"}},
			},
			want: map[string]int64{"karpenter_voluntary_disruption_decisions_total{decision=replace,reason=underutilized,consolidation_type=single}": 1},
		},
		{
			name: "a decision that no longer holds is not counted",
			decision: activities.DisruptionDecision{
				Command: &disruption.Command{Method: disruption.MethodMultiNodeConsolidation, Reason: disruption.ReasonUnderutilized, Nodes: []string{"n1", "n2"}},
				Nodes:   []activities.NodeRef{{Name: "n1", Claim: "c1"}, {Name: "n2", Claim: "c2"}},
			},
			invalid: "pods moved",
			want:    map[string]int64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newCountRecorder()
			suite := &testsuite.WorkflowTestSuite{}
			suite.SetMetricsHandler(rec)
			r := &disruptionRun{env: suite.NewTestWorkflowEnvironment(), finds: []findAnswer{{decision: tt.decision}}, invalid: tt.invalid}
			r.start = r.env.Now()
			r.env.RegisterWorkflow(DisruptionWorkflow)
			r.env.RegisterWorkflow(NodeLifecycleWorkflow)
			if tt.decision.Replacement != nil {
				// The replacement's workflow is mocked; it reports Ready at once.
				r.at(time.Minute, func() {
					r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: r.replacementClaim(t)})
				})
			}
			r.run(t, 5*time.Minute, DisruptionInput{})
			if got := rec.snapshot(); !maps.Equal(got, tt.want) {
				t.Errorf("counted %v, want %v", sortedCounts(got), sortedCounts(tt.want))
			}
		})
	}
}

func TestMetricReasonIsKarpentersLabel(t *testing.T) {
	for in, want := range map[string]string{
		"Underutilized": "underutilized", "Empty": "empty", "Drifted": "drifted", "Expired": "expired",
		"SpotInterruption": "spot_interrupted", "ScheduledChange": "scheduled_change", "StateChange": "state_change",
	} {
		if got := metricReason(in); got != want {
			t.Errorf("metricReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func sortedCounts(m map[string]int64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(out)
	return out
}
